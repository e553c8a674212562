/**
 * `deno task compile` / `compile:arm64` through tools/check_compile.ts: the runtime is the
 * installed deno (no download), so what is checked is the embedded list and the size, and for this
 * machine's platform, a run of exactly the embedded files with deno. With DETECTOR_REAL_DENORT
 * set, the build for this machine embeds into it and is run instead.
 */
import assert from "node:assert/strict";
import { checkCompile, realDenort } from "../../tools/check_compile.ts";
import { hostTarget, type Target } from "../../tools/compile.ts";

const NATIVE = /\.(node|so(\.[0-9.]+)?|dylib|dll|wasm)$/;

for (const target of ["x64", "arm64"] as Target[]) {
  Deno.test(`compile for linux-${target}: only that platform's native files, one wasm, within size`, async () => {
    const denort = realDenort(target);
    const r = await checkCompile(target, {
      denort,
      run: denort !== undefined,
      runLayout: denort === undefined && target === hostTarget(),
    });
    assert.deepEqual(r.problems, []);
    const files = r.files.filter((f) => f.kind === "file").map((f) => f.path);
    assert.ok(files.includes("src/inference/session_worker.ts"));
    const native = files.filter((p) => NATIVE.test(p)).map((p) => p.slice(p.lastIndexOf("/") + 1));
    const expected = [
      /^libonnxruntime\.so\.1$/,
      /^onnxruntime_binding\.node$/,
      /^libvips-cpp\.so\.[0-9.]+$/,
      new RegExp(`^sharp-linux-${target}-[0-9.]+\\.node$`),
      /^ort-wasm-simd-threaded\.wasm$/,
    ];
    assert.equal(native.length, expected.length, native.join(", "));
    for (const re of expected) assert.ok(native.some((n) => re.test(n)), `${re}: ${native}`);
    assert.ok(r.size <= r.limit, `${r.size} > ${r.limit}`);
  });
}
