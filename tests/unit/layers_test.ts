import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { cycles, importGraph, layerViolations } from "../../tools/check_layers.ts";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

Deno.test("src/: every import points down the layer table, through the other folder's mod.ts", async () => {
  const bad = layerViolations(await importGraph(SRC), { doors: true });
  assert.deepEqual(bad.map((v) => `${v.from} -> ${v.to}: ${v.why}`), []);
});

Deno.test("src/: no import cycles", async () => {
  const graph = await importGraph(SRC);
  assert.ok(graph.size > 100, `only ${graph.size} modules found under ${SRC}`);
  assert.deepEqual(cycles(graph), []);
});

Deno.test("the checker finds upward imports, escapes from src/, misses of the door and cycles", () => {
  const graph = new Map([
    ["core/a.ts", ["http/router.ts", "core/b.ts"]],
    ["core/b.ts", ["core/a.ts"]],
    ["http/router.ts", ["core/c.ts", "../main.ts"]],
    ["push/x.ts", ["http/mod.ts", "http/router.ts"]],
  ]);
  const found = layerViolations(graph).map((v) => `${v.from} -> ${v.to}`);
  assert.deepEqual(found, ["core/a.ts -> http/router.ts", "http/router.ts -> ../main.ts"]);
  const withDoors = layerViolations(graph, { doors: true }).map((v) => `${v.from} -> ${v.to}`);
  assert.deepEqual(withDoors, [
    "core/a.ts -> http/router.ts",
    "http/router.ts -> core/c.ts",
    "http/router.ts -> ../main.ts",
    "push/x.ts -> http/router.ts",
  ]);
  assert.deepEqual(cycles(graph), [["core/a.ts", "core/b.ts"]]);
});

Deno.test("importGraph reads static, dynamic, side-effect and URL imports", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/core`);
    await Deno.mkdir(`${dir}/http`);
    await Deno.writeTextFile(
      `${dir}/http/a.ts`,
      [
        'import type { X } from "../core/x.ts";',
        'import {\n  y,\n} from "../core/y.ts";',
        'export * from "./b.ts";',
        'import "../core/side.ts";',
        'const m = await import("../core/lazy.ts");',
        'new Worker(new URL("../core/worker.ts", import.meta.url));',
        'import { z } from "npm:z";',
      ].join("\n"),
    );
    const graph = await importGraph(dir);
    assert.deepEqual(graph.get("http/a.ts")?.sort(), [
      "core/lazy.ts",
      "core/side.ts",
      "core/worker.ts",
      "core/x.ts",
      "core/y.ts",
      "http/b.ts",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
