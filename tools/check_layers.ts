/**
 * Checks the import graph of src/: folders import only the folders below them (the table), only
 * through the other folder's `mod.ts` (its public door), and no module imports itself through a
 * cycle. Usage: deno run -A tools/check_layers.ts [src]  (exit 1 and a list when broken)
 */
import { dirname, join, relative, resolve } from "node:path";

const libraries = ["core", "auth", "sources", "http", "inference", "mpta", "actions", "pipeline"];
const features = ["history", "push", "prusa", "replay", "worker"];

/**
 * Which folders of src/ each folder may import; anything not listed is refused. `core` and `auth`
 * (credentials, constant-time compares) are the bottom; `sources` and `http` (router, responses,
 * server, stream primitives) sit on them; features export their own routes and sources; `config`
 * names the defaults of the libraries and features it configures; `cli` assembles everything for
 * one subcommand.
 */
export const allowed: Record<string, string[]> = {
  core: [],
  auth: ["core"],
  sources: ["core"],
  http: ["core", "auth"],
  inference: ["core"],
  mpta: ["core", "inference"],
  actions: ["core", "inference", "mpta"],
  pipeline: ["core", "inference", "mpta", "actions"],
  testmodels: ["core", "inference", "mpta"],
  history: ["core", "http"],
  push: ["core", "auth", "http", "history"],
  prusa: ["core", "sources", "http"],
  replay: ["core", "http", "sources", "inference", "mpta", "actions", "pipeline"],
  worker: ["core", "auth", "http", "sources", "inference", "mpta", "actions", "pipeline"],
  config: [...libraries, ...features],
  cli: [...libraries, ...features, "config", "testmodels"],
};

export interface Violation {
  from: string;
  to: string;
  why: string;
}

/** Static and dynamic imports, re-exports, side-effect imports and `new URL(…, import.meta.url)`. */
const importPattern =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"|import\(\s*"(\.{1,2}\/[^"]+)"\s*\)|new URL\(\s*"(\.{1,2}\/[^"]+)",\s*import\.meta\.url|(?:^|\n)\s*import\s+"(\.{1,2}\/[^"]+)"/g;

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await sourceFiles(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Import edges between files of src/, relative paths. */
export async function importGraph(srcRoot: string): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const file of (await sourceFiles(srcRoot)).sort()) {
    const text = await Deno.readTextFile(file);
    const targets: string[] = [];
    for (const m of text.matchAll(importPattern)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
      targets.push(relative(srcRoot, resolve(dirname(file), spec)));
    }
    graph.set(relative(srcRoot, file), targets);
  }
  return graph;
}

/** The folder of a path relative to src/ ("" for files at its top). */
function folderOf(path: string): string {
  return path.includes("/") ? path.split("/")[0] : "";
}

/**
 * Imports that point to a folder not allowed by the table, or leave src/; with `doors`, also
 * imports into another folder that do not go through its `mod.ts`.
 */
export function layerViolations(
  graph: Map<string, string[]>,
  opts: { doors?: boolean } = {},
): Violation[] {
  const out: Violation[] = [];
  for (const [from, targets] of graph) {
    const a = folderOf(from);
    for (const to of targets) {
      if (to.startsWith("..")) {
        out.push({ from, to, why: "imports from outside src/" });
        continue;
      }
      const b = folderOf(to);
      if (a === b || b === "") continue;
      if (a !== "" && !(allowed[a] ?? []).includes(b)) {
        const may = allowed[a] ? allowed[a].join(", ") || "nothing" : "nothing (not in the table)";
        out.push({ from, to, why: `${a}/ may not import ${b}/ (allowed: ${may})` });
      } else if (opts.doors && to !== `${b}/mod.ts`) {
        out.push({ from, to, why: `imports inside ${b}/ instead of its door ${b}/mod.ts` });
      }
    }
  }
  return out;
}

/** Every import cycle between files, each as the list of files on it. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

if (import.meta.main) {
  const srcRoot = resolve(Deno.args.find((a) => !a.startsWith("--")) ?? "src");
  const graph = await importGraph(srcRoot);
  const bad = layerViolations(graph, { doors: true });
  const loops = cycles(graph);
  for (const v of bad) console.log(`${v.from} -> ${v.to}: ${v.why}`);
  for (const c of loops) console.log(`cycle: ${c.join(" -> ")}`);
  console.log(`${graph.size} modules, ${bad.length} layer violations, ${loops.length} cycles`);
  if (bad.length > 0 || loops.length > 0) Deno.exit(1);
}
