import assert from "node:assert/strict";
import { openArchive } from "../../src/mpta/archive.ts";
import { cachedArchiveDir, cacheKey, extractArchive } from "../../src/mpta/cache.ts";
import { archiveOf, fullPipeline, root } from "./mpta_fixtures.ts";

Deno.test("cache: extracted once per model id and hash, atomically, old versions pruned", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mpta_cache_" });
  try {
    const a = await openArchive(archiveOf(fullPipeline(), { folder: "top/" }));
    const where = await extractArchive(a, { cacheDir: dir, modelId: 42 });
    assert.equal(where, cachedArchiveDir(dir, 42, a.hash));
    assert.equal(a.dir, where);
    assert.deepEqual(
      await Deno.readFile(`${where}/car_brand_cls_v1.onnx`),
      a.file("car_brand_cls_v1.onnx"),
    );
    const json = JSON.parse(await Deno.readTextFile(`${where}/pipeline.json`));
    assert.equal(json.pipeline.modelId, "car_frontal_detection_v1");
    // second time: same folder, nothing rewritten
    const st = await Deno.stat(`${where}/pipeline.json`);
    const again = await openArchive(archiveOf(fullPipeline(), { folder: "top/" }));
    assert.equal(await extractArchive(again, { cacheDir: dir, modelId: 42 }), where);
    assert.equal((await Deno.stat(`${where}/pipeline.json`)).mtime?.getTime(), st.mtime?.getTime());
    // new versions of the same model id: new folders; only `keep` remain
    const versions: string[] = [where];
    for (const conf of [0.7, 0.75, 0.9]) {
      const p = fullPipeline();
      root(p).minConfidence = conf;
      const v = await openArchive(archiveOf(p));
      await new Promise((r) => setTimeout(r, 15));
      versions.push(await extractArchive(v, { cacheDir: dir, modelId: 42, keep: 2 }));
    }
    const left = [];
    for await (const e of Deno.readDir(`${dir}/42`)) left.push(`${dir}/42/${e.name}`);
    assert.deepEqual(left.sort(), versions.slice(-2).sort());
    // no temporary folders left behind
    assert.ok(!left.some((p) => p.includes(".tmp-")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cache: model ids become safe folder names", () => {
  assert.equal(cacheKey("../../etc"), "__.._etc");
  assert.equal(cacheKey("a/b c"), "a_b_c");
  assert.equal(cacheKey(17), "17");
  assert.equal(cacheKey(""), "_");
});
