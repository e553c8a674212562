import assert from "node:assert/strict";
import {
  checkEmbedded,
  embeddedFiles,
  parseEmbeddedTree,
  reportedFilesBytes,
  smokeRun,
} from "../../tools/check_compile.ts";

/** An ELF64 little-endian header with the given e_machine. */
function elf(machine: number): Uint8Array {
  const b = new Uint8Array(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  new DataView(b.buffer).setUint16(18, machine, true);
  return b;
}

const ORT = "node_modules/.deno/onnxruntime-node@1.30.0/node_modules/onnxruntime-node";
const WEB = "node_modules/.deno/onnxruntime-web@1.30.0/node_modules/onnxruntime-web";
const VIPS = "node_modules/.deno/@img+sharp-libvips-linux-arm64@1.3.4/node_modules/@img";
const ADDON = "node_modules/.deno/@img+sharp-linux-arm64@0.35.5/node_modules/@img";

/** The layout `deno compile` ran in, and the tree it printed (colours off). */
const FILES: Record<string, Uint8Array> = {
  "main.ts": new Uint8Array(10),
  [`${ORT}/bin/napi-v6/linux/arm64/libonnxruntime.so.1`]: elf(0xb7),
  [`${ORT}/bin/napi-v6/linux/arm64/onnxruntime_binding.node`]: elf(0x3e), // x86-64 in an arm64 dir
  [`${ORT}/bin/napi-v6/darwin/arm64/libonnxruntime.1.dylib`]: new Uint8Array([0xcf, 0xfa, 0xed]),
  [`${ORT}/package.json`]: new Uint8Array(2),
  [`${WEB}/dist/ort-wasm-simd-threaded.mjs`]: new Uint8Array(3),
  [`${WEB}/dist/ort-wasm-simd-threaded.wasm`]: new Uint8Array(4),
  [`${WEB}/dist/ort-wasm-simd-threaded.jsep.wasm`]: new Uint8Array(5),
  [`${WEB}/dist/ort.node.min.mjs`]: new Uint8Array(6),
  [`${VIPS}/sharp-libvips-linux-arm64/lib/libvips-cpp.so.8.18.7`]: elf(0xb7),
  [`${ADDON}/sharp-linux-arm64/lib/sharp-linux-arm64-0.35.5.node`]: elf(0xb7),
  [`${ADDON}/sharp-linuxmusl-arm64/lib/sharp-linuxmusl-arm64-0.35.5.node`]: elf(0xb7),
};

const REPORT = `Compile main.ts to detector

Embedded Files

detector
├── main.ts (10B)
├─┬ node_modules (1MB - 0.9MB unique)
│ └─┬ .deno (1MB)
│   ├── @img+sharp-libvips-linux-arm64@1.3.4/* (64B)
│   ├── @img+sharp-linux-arm64@0.35.5/node_modules/@img/* (128B - 64B unique)
│   ├─┬ onnxruntime-node@1.30.0 (1KB)
│   │ └─┬ node_modules (1KB)
│   │   ├── onnxruntime-common --> node_modules/.deno/onnxruntime-common@1.30.0/node_modules/onnxruntime-common
│   │   └─┬ onnxruntime-node (1KB)
│   │     ├── bin/* (192B)
│   │     └── package.json (2B)
│   └─┬ onnxruntime-web@1.30.0 (18B)
│     └─┬ node_modules/onnxruntime-web (18B)
│       └─┬ dist (18B)
│         ├── ort-wasm-simd-threaded.jsep.wasm (5B)
│         ├── ort-wasm-simd-threaded.mjs (3B)
│         ├── ort-wasm-simd-threaded.wasm (4B)
│         └── ort.node.min.mjs (6B)
└── src (0B)

Files: 1.5MB
Metadata: 7.22KB
Remote modules: 12B
`;

Deno.test("compile check: parses the embedded tree and names every missing or foreign file", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (const [path, bytes] of Object.entries(FILES)) {
      await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
      await Deno.writeFile(`${root}/${path}`, bytes);
    }
    await Deno.mkdir(`${root}/src`);
    const tree = parseEmbeddedTree(REPORT);
    assert.deepEqual(tree.find((t) => t.path.endsWith("/onnxruntime-common")), {
      path: "node_modules/.deno/onnxruntime-node@1.30.0/node_modules/onnxruntime-common",
      whole: false,
      symlink: true,
    });
    assert.equal(reportedFilesBytes(REPORT), 1.5 * 1024 * 1024);
    const files = await embeddedFiles(tree, root);
    assert.deepEqual(
      files.filter((f) => f.kind === "file").map((f) => f.path).sort(),
      Object.keys(FILES).sort(),
    );
    const problems = await checkEmbedded("arm64", files, root);
    const expect = [
      /^missing session worker/,
      /^foreign-platform file \(onnxruntime-node darwin\/arm64\): .*libonnxruntime\.1\.dylib$/,
      /^native file not for linux-arm64 \(not an ELF file\): .*\.dylib$/,
      /^native file not for linux-arm64 \(ELF machine 0x3e\): .*onnxruntime_binding\.node$/,
      /^wasm build the fallback does not load: .*jsep\.wasm$/,
      /^foreign-platform file \(sharp package sharp-linuxmusl-arm64\): /,
      /^unexpected native file: .*sharp-linuxmusl-arm64-0\.35\.5\.node$/,
      /^unexpected native file: .*libonnxruntime\.1\.dylib$/,
    ];
    for (const re of expect) assert.ok(problems.some((p) => re.test(p)), `${re}: ${problems}`);
    assert.equal(problems.length, expect.length, problems.join("\n"));
    // the same files for x64: every arm64 native file is foreign
    const x64 = await checkEmbedded("x64", files, root);
    assert.ok(x64.some((p) => /^missing onnxruntime-node addon/.test(p)), x64.join("\n"));
    assert.ok(
      x64.some((p) => /^foreign-platform file \(sharp package sharp-libvips-linux-arm64\)/.test(p)),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("compile check: an unexpected line in the tree is an error, not a silent skip", () => {
  assert.throws(
    () => parseEmbeddedTree("Embedded Files\n\ndetector\n├── main.ts (1B)\nsomething else\n"),
    /unexpected line in the embedded file tree: "something else"/,
  );
  assert.throws(() => parseEmbeddedTree("Compile main.ts\n"), /no 'Embedded Files' section/);
});

Deno.test("compile check: running a broken executable reports every step", async () => {
  const problems = await smokeRun("/bin/false");
  for (
    const re of [/^--version/, /^mpta validate/, /^detect on the native/, /^detect on the wasm/]
  ) {
    assert.ok(problems.some((p) => re.test(p)), `${re}: ${problems.join("\n")}`);
  }
  assert.ok(problems.some((p) => /^serve: .*exited before printing/.test(p)), problems.join("\n"));
});
