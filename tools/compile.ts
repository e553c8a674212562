/**
 * `deno task compile` / `deno task compile:arm64`: one self-extracting executable per Linux (glibc)
 * platform that embeds only what that platform runs. The npm packages are installed for the target
 * platform into a staging copy of the project (the checkout's own node_modules is left alone), then
 * `deno compile` runs there with every other platform's native files, the onnxruntime-web bundles
 * the wasm fallback does not load, and type-only packages excluded.
 *
 *   deno run -A tools/compile.ts [--target x64|arm64] [--output FILE] [--stage DIR] [--no-memory-flags]
 *
 * The V8 memory flags (src/core/memory_flags.ts) are embedded unless `--no-memory-flags`: a
 * compiled file cannot take V8 flags when it starts, and they cost `run` throughput (README "Memory").
 *
 * `DENORT_BIN` is passed through to `deno compile` (where it cannot download its runtime).
 */

import { MEMORY_RUNTIME_ARGS } from "../src/core/memory_flags.ts";

export type Target = "x64" | "arm64";

export interface TargetInfo {
  /** Rust target triple for `deno compile --target`. */
  triple: string;
  /** ELF e_machine of the native files this platform loads. */
  elfMachine: number;
  /** Default output, relative to the project root. */
  output: string;
}

export const TARGETS: Record<Target, TargetInfo> = {
  x64: { triple: "x86_64-unknown-linux-gnu", elfMachine: 0x3e, output: "dist/detector" },
  arm64: { triple: "aarch64-unknown-linux-gnu", elfMachine: 0xb7, output: "dist/detector-arm64" },
};

/**
 * The wasm fallback (session_worker.ts, single-threaded) imports onnxruntime-web's Node entry,
 * which loads the plain SIMD build: its Emscripten glue and the .wasm beside it.
 */
export const WASM_FALLBACK_FILES = [
  "ort.node.min.mjs",
  "ort-wasm-simd-threaded.mjs",
  "ort-wasm-simd-threaded.wasm",
];

/** Modules loaded by URL at run time, which the module graph does not reach. */
const INCLUDES = ["src/inference/session_worker.ts"];

/** What the staging copy holds from the project; the rest is installed by `deno install`. */
const STAGED = ["deno.json", "deno.lock", "main.ts", "src"];

export const projectRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

export function hostTarget(): Target | undefined {
  if (Deno.build.os !== "linux") return undefined;
  return Deno.build.arch === "x86_64" ? "x64" : Deno.build.arch === "aarch64" ? "arm64" : undefined;
}

export function parseTarget(value: string): Target {
  if (value === "x64" || value === "arm64") return value;
  throw new Error(`--target expects x64 or arm64, got "${value}"`);
}

async function dirNames(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) names.push(e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  return names.sort();
}

/**
 * Paths (relative to the staging dir) that `deno compile --exclude` drops for `target`: exact
 * paths, since --exclude takes no patterns and does not follow node_modules' symlinks.
 */
export async function excludedPaths(stageDir: string, target: Target): Promise<string[]> {
  const out: string[] = [];
  const store = "node_modules/.deno";
  for (const pkg of await dirNames(`${stageDir}/${store}`)) {
    const name = pkg.replace(/@[^@]+$/, "").replace("+", "/");
    const root = `${store}/${pkg}/node_modules/${name}`;
    // A package's own folder is embedded from the npm snapshot: excluding its parent is not enough.
    if (name.startsWith("@types/")) out.push(`${store}/${pkg}`, root);
    else if (name.startsWith("@img/sharp-")) {
      const keep = name === `@img/sharp-linux-${target}` ||
        name === `@img/sharp-libvips-linux-${target}`;
      if (!keep) out.push(`${store}/${pkg}`, root);
    } else if (name === "onnxruntime-node") {
      for (const napi of await dirNames(`${stageDir}/${root}/bin`)) {
        for (const os of await dirNames(`${stageDir}/${root}/bin/${napi}`)) {
          const osDir = `${root}/bin/${napi}/${os}`;
          if (os !== "linux") out.push(osDir);
          else {
            for (const arch of await dirNames(`${stageDir}/${osDir}`)) {
              if (arch !== target) out.push(`${osDir}/${arch}`);
            }
          }
        }
      }
    } else if (name === "onnxruntime-web") {
      for (const f of await dirNames(`${stageDir}/${root}/dist`)) {
        if (!WASM_FALLBACK_FILES.includes(f)) out.push(`${root}/dist/${f}`);
      }
      out.push(`${root}/lib`, `${root}/docs`);
    }
  }
  return out;
}

async function run(cmd: string, args: string[], cwd: string, stdout: "inherit" | "piped") {
  const p = new Deno.Command(cmd, { args, cwd, stdout, stderr: "inherit" }).spawn();
  const [status, text] = await Promise.all([
    p.status,
    stdout === "piped" ? new Response(p.stdout).text() : Promise.resolve(""),
  ]);
  if (!status.success) {
    throw new Error(`${cmd} ${args.slice(0, 2).join(" ")} failed with exit code ${status.code}`);
  }
  return text;
}

/** Copies the project's sources into `stageDir` and installs the npm packages for `target`. */
export async function stage(stageDir: string, target: Target): Promise<void> {
  await Deno.mkdir(stageDir, { recursive: true });
  for (const name of STAGED) {
    await Deno.remove(`${stageDir}/${name}`, { recursive: true }).catch(() => {});
    await run(
      "cp",
      ["-R", `${projectRoot}/${name}`, `${stageDir}/${name}`],
      projectRoot,
      "inherit",
    );
  }
  await run(
    Deno.execPath(),
    ["install", "--frozen-lockfile", "--os", "linux", "--arch", target, "--quiet"],
    stageDir,
    "inherit",
  );
}

export interface CompileOptions {
  target: Target;
  /** Output file; relative paths are taken from the project root. */
  output?: string;
  /** Staging dir (kept between runs to reuse the install); default dist/.stage-TARGET. */
  stageDir?: string;
  /** Extra environment for `deno compile` (e.g. DENORT_BIN). */
  env?: Record<string, string>;
  /** Echo `deno compile`'s report while capturing it. */
  echo?: boolean;
  /** Type-check before compiling (default true; what is embedded does not depend on it). */
  typeCheck?: boolean;
  /** Embed the V8 memory flags (default true). */
  memoryFlags?: boolean;
}

export interface CompileResult {
  output: string;
  stageDir: string;
  /** `deno compile`'s report, colours off: the tree of embedded files and the totals. */
  report: string;
}

export async function compile(opts: CompileOptions): Promise<CompileResult> {
  const info = TARGETS[opts.target];
  const abs = (p: string) => p.startsWith("/") ? p : `${projectRoot}/${p}`;
  const output = abs(opts.output ?? info.output);
  const stageDir = abs(opts.stageDir ?? `dist/.stage-${opts.target}`);
  await stage(stageDir, opts.target);
  await Deno.mkdir(output.slice(0, output.lastIndexOf("/")), { recursive: true });
  const excludes = await excludedPaths(stageDir, opts.target);
  const args = [
    "compile",
    "-A",
    ...(opts.memoryFlags === false ? [] : MEMORY_RUNTIME_ARGS),
    "--self-extracting",
    ...(opts.typeCheck === false ? ["--no-check"] : []),
    "--target",
    info.triple,
    ...INCLUDES.flatMap((p) => ["--include", p]),
    ...excludes.flatMap((p) => ["--exclude", p]),
    "--output",
    output,
    "main.ts",
  ];
  const p = new Deno.Command(Deno.execPath(), {
    args,
    cwd: stageDir,
    env: { ...opts.env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let report = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      report += decoder.decode(chunk, { stream: true });
      if (opts.echo) await sink.write(chunk);
    }
  };
  const [status] = await Promise.all([
    p.status,
    pump(p.stdout, Deno.stdout),
    pump(p.stderr, Deno.stderr),
  ]);
  if (!status.success) {
    throw new Error(`deno compile failed with exit code ${status.code}:\n${report}`);
  }
  return { output, stageDir, report };
}

if (import.meta.main) {
  const args = [...Deno.args];
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  try {
    const target = parseTarget(flag("--target") ?? hostTarget() ?? "x64");
    const env: Record<string, string> = {};
    const denort = Deno.env.get("DENORT_BIN");
    if (denort) env.DENORT_BIN = denort;
    const r = await compile({
      target,
      output: flag("--output"),
      stageDir: flag("--stage"),
      memoryFlags: !args.includes("--no-memory-flags"),
      env,
      echo: true,
    });
    const size = (await Deno.stat(r.output)).size;
    console.log(`${r.output}: ${(size / 1e6).toFixed(1)} MB (${TARGETS[target].triple})`);
  } catch (err) {
    console.error(`compile: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
