/**
 * Checks what `deno compile` embeds for a Linux target (built by tools/compile.ts): parses the
 * tree of embedded files it prints, expands the tree's `dir/*` entries from the staging dir, and
 * fails when a required file is missing (session worker, the platform's addons and shared
 * libraries, the wasm fallback), another platform's native file or another wasm build is present,
 * or the file is over its size budget.
 *
 * `deno compile` needs its runtime (denort) for the target; without network it takes `DENORT_BIN`,
 * here the running `deno` (the result then behaves as plain deno but embeds the real contents).
 * With `DETECTOR_REAL_DENORT` (a denort for this machine's platform) the build for this machine
 * embeds into it instead, and the result is run: --version, mpta validate, detect (native and
 * wasm), serve answering /healthz. Without it, the same runs use deno on a copy of exactly the
 * embedded files (skipped with --no-run).
 *
 *   deno run -A tools/check_compile.ts [--target x64|arm64|all] [--keep] [--no-run]
 *   deno run -A tools/check_compile.ts --run FILE    # only run the checks on a built executable
 */
import { CAR_SCENE, colourFrameJpeg } from "../src/testmodels/frames.ts";
import { VERSION } from "../src/version.ts";
import { spawnChild } from "../tests/harness/process.ts";
import {
  compile,
  hostTarget,
  parseTarget,
  projectRoot,
  type Target,
  TARGETS,
  WASM_FALLBACK_FILES,
} from "./compile.ts";

/**
 * Bytes the embedded payload may add to the runtime, per target (measured payload plus ~5%). The
 * file's limit is the runtime's size plus this, so it holds with deno or a real denort as runtime.
 */
export const PAYLOAD_BUDGET: Record<Target, number> = { x64: 105e6, arm64: 84e6 };

export interface Embedded {
  /** Path relative to the compile root (the staging dir). */
  path: string;
  kind: "file" | "symlink";
  size: number;
}

interface TreeLine {
  path: string;
  /** `dir/*`: everything under dir on disk is embedded. */
  whole: boolean;
  symlink: boolean;
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** Parses the "Embedded Files" tree of `deno compile`'s report (colours off). */
export function parseEmbeddedTree(report: string): TreeLine[] {
  const lines = report.split("\n");
  const start = lines.findIndex((l) => l.trim() === "Embedded Files");
  if (start < 0) throw new Error("no 'Embedded Files' section in deno compile's output");
  let i = start + 1;
  while (i < lines.length && lines[i].trim() === "") i++;
  i++; // the root label (the output's name)
  const out: TreeLine[] = [];
  const stack: string[] = [];
  for (; i < lines.length && lines[i].trim() !== ""; i++) {
    const m = lines[i].match(/^((?:[│ ] )*)[├└]─[─┬] (.+)$/);
    if (!m) throw new Error(`unexpected line in the embedded file tree: "${lines[i]}"`);
    const depth = m[1].length / 2;
    stack.length = depth;
    const link = m[2].match(/^(.+?) --> (.+)$/);
    const entry = link
      ? link[1]
      : m[2].replace(/ \([0-9.]+[KMG]?B( - [0-9.]+[KMG]?B unique)?\)$/, "");
    const whole = entry.endsWith("/*");
    const name = whole ? entry.slice(0, -2) : entry;
    const path = [...stack, name].join("/");
    stack.push(name);
    out.push({ path, whole, symlink: link !== null });
  }
  return out;
}

/** Total of the report's "Files:" line, in bytes. */
export function reportedFilesBytes(report: string): number | undefined {
  const m = report.match(/^Files: ([0-9.]+)([KMG]?B)$/m);
  return m ? Number(m[1]) * UNITS[m[2]] : undefined;
}

async function walk(root: string, rel: string, out: Embedded[]): Promise<void> {
  const st = await Deno.lstat(`${root}/${rel}`);
  if (st.isSymlink) out.push({ path: rel, kind: "symlink", size: 0 });
  else if (st.isFile) out.push({ path: rel, kind: "file", size: st.size });
  else if (st.isDirectory) {
    const names: string[] = [];
    for await (const e of Deno.readDir(`${root}/${rel}`)) names.push(e.name);
    for (const n of names.sort()) await walk(root, `${rel}/${n}`, out);
  }
}

/**
 * Every embedded file: the tree's leaves, with `dir/*` entries expanded from `root`, the dir
 * `deno compile` ran in (the tree's root). A leaf that is a directory on disk was embedded empty.
 */
export async function embeddedFiles(tree: TreeLine[], root: string): Promise<Embedded[]> {
  const out: Embedded[] = [];
  for (let i = 0; i < tree.length; i++) {
    const t = tree[i];
    const hasChildren = tree[i + 1]?.path.startsWith(`${t.path}/`) ?? false;
    if (t.symlink) out.push({ path: t.path, kind: "symlink", size: 0 });
    else if (t.whole) {
      try {
        await walk(root, t.path, out);
      } catch (err) {
        throw new Error(`cannot expand "${t.path}/*" from ${root}: ${err}`);
      }
    } else if (!hasChildren) {
      const st = await Deno.lstat(`${root}/${t.path}`).catch(() => undefined);
      if (!st) throw new Error(`embedded file "${t.path}" is not in ${root}`);
      if (st.isFile) out.push({ path: t.path, kind: "file", size: st.size });
    }
  }
  return out;
}

/** ELF e_machine of a file, or undefined when it is not ELF. */
async function elfMachine(path: string): Promise<number | undefined> {
  const f = await Deno.open(path);
  try {
    const head = new Uint8Array(20);
    const n = await f.read(head);
    if (n !== 20 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) {
      return undefined;
    }
    return new DataView(head.buffer).getUint16(18, head[5] === 1);
  } finally {
    f.close();
  }
}

const NATIVE = /\.(node|so(\.[0-9.]+)?|dylib|dll|exe)$/;

/** What must be embedded for `target`, each as a pattern on the embedded path. */
export function requiredFiles(target: Target): { what: string; re: RegExp; native?: true }[] {
  const ortBin = `/onnxruntime-node/bin/napi-v\\d+/linux/${target}`;
  return [
    { what: "entry point main.ts", re: /^main\.ts$/ },
    { what: "session worker", re: /^src\/inference\/session_worker\.ts$/ },
    {
      what: "onnxruntime-node addon",
      re: new RegExp(`${ortBin}/onnxruntime_binding\\.node$`),
      native: true,
    },
    {
      what: "onnxruntime shared library",
      re: new RegExp(`${ortBin}/libonnxruntime\\.so[.0-9]*$`),
      native: true,
    },
    {
      what: "sharp addon",
      re: new RegExp(`/@img/sharp-linux-${target}/lib/sharp-linux-${target}-[^/]+\\.node$`),
      native: true,
    },
    {
      what: "libvips shared library",
      re: new RegExp(`/@img/sharp-libvips-linux-${target}/lib/libvips-cpp\\.so[.0-9]*$`),
      native: true,
    },
    ...WASM_FALLBACK_FILES.map((f) => ({
      what: `wasm fallback ${f}`,
      re: new RegExp(`/onnxruntime-web/dist/${f.replaceAll(".", "\\.")}$`),
    })),
  ];
}

/** Another platform's package or folder, by path. */
function foreignPath(path: string, target: Target): string | undefined {
  const ort = path.match(/\/onnxruntime-node\/bin\/napi-v\d+\/([^/]+)\/([^/]+)\//);
  if (ort && (ort[1] !== "linux" || ort[2] !== target)) {
    return `onnxruntime-node ${ort[1]}/${ort[2]}`;
  }
  for (const img of path.matchAll(/@img[/+](sharp-(?:libvips-)?)([^/@]+)/g)) {
    if (img[2] !== `linux-${target}`) return `sharp package ${img[1]}${img[2]}`;
  }
  return undefined;
}

export interface CheckResult {
  target: Target;
  output: string;
  size: number;
  runtimeSize: number;
  limit: number;
  files: Embedded[];
  problems: string[];
}

/** Checks the embedded files (already expanded) and the output's size. */
export async function checkEmbedded(
  target: Target,
  files: Embedded[],
  root: string,
): Promise<string[]> {
  const problems: string[] = [];
  const regular = files.filter((f) => f.kind === "file");
  const required = requiredFiles(target);
  for (const r of required) {
    if (!regular.some((f) => r.re.test(f.path))) {
      problems.push(`missing ${r.what} (${r.re.source})`);
    }
  }
  const nativeAllowed = required.filter((r) => r.native);
  for (const f of regular) {
    const foreign = foreignPath(f.path, target);
    if (foreign) problems.push(`foreign-platform file (${foreign}): ${f.path}`);
    if (f.path.endsWith(".wasm") && !required.some((r) => r.re.test(f.path))) {
      problems.push(`wasm build the fallback does not load: ${f.path}`);
    }
    if (NATIVE.test(f.path) || f.path.endsWith(".wasm")) {
      if (!f.path.endsWith(".wasm") && !nativeAllowed.some((r) => r.re.test(f.path))) {
        problems.push(`unexpected native file: ${f.path}`);
      }
      if (!f.path.endsWith(".wasm")) {
        const machine = await elfMachine(`${root}/${f.path}`);
        if (machine !== TARGETS[target].elfMachine) {
          const what = machine === undefined
            ? "not an ELF file"
            : `ELF machine 0x${machine.toString(16)}`;
          problems.push(`native file not for linux-${target} (${what}): ${f.path}`);
        }
      }
    }
  }
  return problems;
}

async function exec(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(file, { args, env, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/**
 * Runs a built executable: --version, mpta validate on a shipped archive, detect on a generated
 * frame with the native backend and with the wasm fallback, serve answering /healthz.
 * Returns the problems found.
 */
export async function smokeRun(file: string, log: (line: string) => void = () => {}) {
  const problems: string[] = [];
  const archive = `${projectRoot}/pipelines/car_frontal_full.mpta`;
  const version = await exec(file, ["--version"]);
  log(`--version: exit ${version.code}, ${version.out.trim()}`);
  if (version.code !== 0 || version.out.trim() !== VERSION) {
    problems.push(
      `--version printed "${version.out.trim()}" (exit ${version.code}): ${version.err}`,
    );
  }
  const validate = await exec(file, ["mpta", "validate", archive]);
  log(`mpta validate: exit ${validate.code}`);
  if (validate.code !== 0) {
    problems.push(`mpta validate exited ${validate.code}: ${validate.out}${validate.err}`);
  }
  const dir = await Deno.makeTempDir({ prefix: "detector-smoke-" });
  try {
    await Deno.writeFile(`${dir}/car.jpg`, await colourFrameJpeg(CAR_SCENE));
    for (const backend of ["native", "wasm"]) {
      const env: Record<string, string> = backend === "wasm"
        ? { DETECTOR_NATIVE_BACKEND: "off" }
        : {};
      const r = await exec(file, ["detect", `${dir}/car.jpg`, "--mpta", archive], env);
      let json: { backend?: string; detections?: { class: string }[] } = {};
      try {
        json = JSON.parse(r.out);
      } catch { /* reported below */ }
      const classes = (json.detections ?? []).map((d) => d.class);
      log(`detect (${backend}): exit ${r.code}, backend ${json.backend}, ${classes.join(", ")}`);
      if (r.code !== 0 || json.backend !== backend || !classes.includes("Car")) {
        problems.push(`detect on the ${backend} backend: exit ${r.code}, ${r.out}${r.err}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const serve = spawnChild(file, [
    "serve",
    "--source",
    "demo=testpattern:?fps=2&size=320x240",
    "--port",
    "0",
  ]);
  try {
    const [, url] = await serve.waitFor(/listening on (http:\/\/[^\s]+)/, 60_000);
    const res = await fetch(new URL("/healthz", url));
    await res.body?.cancel();
    log(`serve: GET /healthz ${res.status}`);
    if (res.status !== 200) problems.push(`serve: GET /healthz answered ${res.status}`);
  } catch (err) {
    problems.push(`serve: ${err instanceof Error ? err.message : err}`);
  } finally {
    await serve.stop();
  }
  return problems;
}

/**
 * Lays out exactly the embedded files (hard links into the staging dir) in `dir`, as the
 * self-extracting binary writes them, and returns an executable script that runs that copy of
 * main.ts with deno: it shows the embedded set is complete when no real denort is at hand.
 */
export async function embeddedLayout(files: Embedded[], stageDir: string, dir: string) {
  for (const f of files) {
    await Deno.mkdir(`${dir}/${f.path}`.replace(/\/[^/]+$/, ""), { recursive: true });
    const from = `${stageDir}/${f.path}`;
    if (f.kind === "symlink") await Deno.symlink(await Deno.readLink(from), `${dir}/${f.path}`);
    else {await Deno.link(from, `${dir}/${f.path}`).catch(() =>
        Deno.copyFile(from, `${dir}/${f.path}`)
      );}
  }
  // The compiled binary carries deno.json's import map in its metadata; deno run reads the file.
  for (const name of ["deno.json", "deno.lock"]) {
    await Deno.copyFile(`${stageDir}/${name}`, `${dir}/${name}`);
  }
  const script = `${dir}.sh`;
  await Deno.writeTextFile(
    script,
    `#!/bin/sh\nexec '${Deno.execPath()}' run -A --node-modules-dir=manual --cached-only ` +
      `--config '${dir}/deno.json' '${dir}/main.ts' "$@"\n`,
  );
  await Deno.chmod(script, 0o755);
  return script;
}

export interface CheckOptions {
  /** Runtime to embed into (DENORT_BIN); default: the running deno. */
  denort?: string;
  /** Run the compiled file (`denort` must be a real denort for this machine). */
  run?: boolean;
  /** Run the embedded files laid out on disk with deno (this machine's target only). */
  runLayout?: boolean;
  /** Keep the build in this dir instead of a temporary one. */
  keepDir?: string;
  log?: (line: string) => void;
}

/** Compiles for `target` into a temporary dir and checks the result. */
export async function checkCompile(target: Target, opts: CheckOptions = {}): Promise<CheckResult> {
  const log = opts.log ?? (() => {});
  const denort = opts.denort ?? Deno.execPath();
  const dir = opts.keepDir ?? await Deno.makeTempDir({ prefix: `detector-compile-${target}-` });
  try {
    log(`compiling for ${target} (runtime ${denort})`);
    const r = await compile({
      target,
      output: `${dir}/detector`,
      stageDir: `${dir}/stage`,
      env: { DENORT_BIN: denort },
      typeCheck: false, // `deno task check` does that
    });
    const tree = parseEmbeddedTree(r.report);
    const files = await embeddedFiles(tree, r.stageDir);
    const problems = await checkEmbedded(target, files, r.stageDir);
    // The expanded list must account for what deno compile says it embedded (within 5%: the
    // report counts a few bytes of its own), or the tree was misread and foreign files could hide.
    const listed = files.reduce((n, f) => n + f.size, 0);
    const reported = reportedFilesBytes(r.report);
    if (reported === undefined || Math.abs(listed / reported - 1) > 0.05) {
      problems.push(`the parsed tree holds ${mb(listed)}, deno compile reports ${reported} bytes`);
    }
    const size = (await Deno.stat(r.output)).size;
    const runtimeSize = (await Deno.stat(denort)).size;
    const limit = runtimeSize + PAYLOAD_BUDGET[target];
    if (size > limit) {
      problems.push(
        `${mb(size)} is over the limit of ${mb(limit)} (runtime ${mb(runtimeSize)} + payload ` +
          `budget ${mb(PAYLOAD_BUDGET[target])})`,
      );
    }
    if (opts.run) problems.push(...await smokeRun(r.output, log));
    if (opts.runLayout) {
      log(`running the embedded files with deno`);
      const script = await embeddedLayout(files, r.stageDir, `${dir}/embedded`);
      problems.push(...(await smokeRun(script, log)).map((p) => `embedded files: ${p}`));
    }
    return { target, output: r.output, size, runtimeSize, limit, files, problems };
  } finally {
    if (!opts.keepDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

export const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Embedded bytes by kind, largest first. */
export function breakdown(files: Embedded[]): [string, number][] {
  const groups = new Map<string, number>();
  for (const f of files) {
    if (f.kind !== "file") continue;
    const kind = /\/onnxruntime-node\/bin\//.test(f.path)
      ? "onnxruntime-node (addon + libonnxruntime)"
      : /\/@img\/sharp-(libvips-)?linux-/.test(f.path)
      ? "sharp (addon + libvips)"
      : /\/onnxruntime-web\/dist\//.test(f.path)
      ? "onnxruntime-web wasm fallback"
      : f.path.startsWith("node_modules/")
      ? "other npm packages (JavaScript)"
      : "detector's own sources";
    groups.set(kind, (groups.get(kind) ?? 0) + f.size);
  }
  return [...groups].sort((a, b) => b[1] - a[1]);
}

function summary(r: CheckResult): string {
  const native = r.files.filter((f) =>
    f.kind === "file" && (NATIVE.test(f.path) || f.path.endsWith(".wasm"))
  );
  return [
    `${r.target}: ${mb(r.size)} (limit ${mb(r.limit)}), runtime ${mb(r.runtimeSize)}, ` +
    `${r.files.filter((f) => f.kind === "file").length} embedded files`,
    ...breakdown(r.files).map(([k, n]) => `  ${mb(n).padStart(9)}  ${k}`),
    "  native and wasm files:",
    ...native.map((f) => `  ${mb(f.size).padStart(9)}  ${f.path}`),
  ].join("\n");
}

/** The denort to embed into for `target`: DETECTOR_REAL_DENORT serves this machine's platform. */
export function realDenort(target: Target): string | undefined {
  return target === hostTarget() ? Deno.env.get("DETECTOR_REAL_DENORT") || undefined : undefined;
}

if (import.meta.main) {
  const args = [...Deno.args];
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const runOnly = flag("--run");
  if (runOnly) {
    const problems = await smokeRun(runOnly, console.log);
    for (const p of problems) console.log(`PROBLEM: ${p}`);
    Deno.exit(problems.length ? 1 : 0);
  }
  const which = flag("--target") ?? "all";
  const targets: Target[] = which === "all" ? ["x64", "arm64"] : [parseTarget(which)];
  let failed = false;
  for (const target of targets) {
    const real = realDenort(target);
    const keepDir = args.includes("--keep") ? `${projectRoot}/dist/check-${target}` : undefined;
    if (keepDir) await Deno.mkdir(keepDir, { recursive: true });
    const r = await checkCompile(target, {
      denort: real,
      run: real !== undefined,
      runLayout: real === undefined && target === hostTarget() && !args.includes("--no-run"),
      keepDir,
      log: console.log,
    });
    console.log(summary(r));
    for (const p of r.problems) console.log(`  PROBLEM: ${p}`);
    if (r.problems.length) failed = true;
  }
  Deno.exit(failed ? 1 : 0);
}
