import assert from "node:assert/strict";
import { runDetector } from "../harness/detector.ts";
import { solidJpeg } from "../harness/jpeg_fixtures.ts";
import { unzipSync } from "fflate";
import { zipDeterministic } from "../../src/mpta/pack.ts";
import {
  EXAMPLE_ARCHIVES,
  fullExampleModels,
  fullExamplePipeline,
} from "../../src/testmodels/example_archives.ts";

const pipelines = new URL("../../pipelines/", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const child = runDetector(args);
  const status = await child.status;
  return { code: status.code, out: child.output() };
}

/** stdout only (the JSON documents), without log lines on stderr. */
async function runJson(args: string[]): Promise<{ code: number; json: unknown }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../main.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  });
  const r = await cmd.output();
  const text = new TextDecoder().decode(r.stdout);
  try {
    return { code: r.code, json: JSON.parse(text) };
  } catch {
    throw new Error(`not JSON: ${text}\nstderr: ${new TextDecoder().decode(r.stderr)}`);
  }
}

function brokenArchive(): Uint8Array {
  const p = structuredClone(fullExamplePipeline()) as { pipeline: Record<string, unknown> };
  p.pipeline.minConfidence = "high";
  const b = (p.pipeline.branches as Record<string, unknown>[])[1];
  b.modelId = "car_brand_cls_v1";
  const files: Record<string, Uint8Array> = {
    ...fullExampleModels(),
    "pipeline.json": new TextEncoder().encode(JSON.stringify(p)),
  };
  return zipDeterministic(files);
}

Deno.test("mpta validate: committed examples are valid (exit 0), one ok line each", async () => {
  const files = EXAMPLE_ARCHIVES.map((e) => `${pipelines}${e.file}`);
  const { code, out } = await run(["mpta", "validate", ...files]);
  assert.equal(code, 0, out);
  for (const f of files) assert.match(out, new RegExp(`${f}: ok \\(\\d models?\\)`));
});

Deno.test("mpta validate: one line per problem with its JSON path; exit 1; --json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = `${dir}/bad.mpta`;
    await Deno.writeFile(bad, brokenArchive());
    const notZip = `${dir}/notzip.mpta`;
    await Deno.writeTextFile(notZip, "hello");
    const { code, out } = await run([
      "mpta",
      "validate",
      bad,
      `${pipelines}car_detection_only.mpta`,
      notZip,
    ]);
    assert.equal(code, 1, out);
    assert.match(out, new RegExp(`${bad}: error: pipeline\\.minConfidence: must be a number`));
    assert.match(
      out,
      new RegExp(`${bad}: error: pipeline\\.branches\\[1\\]\\.modelId: duplicate modelId`),
    );
    assert.match(out, /car_detection_only\.mpta: ok/);
    assert.match(out, new RegExp(`${notZip}: error: \\(archive\\): not a ZIP archive`));
    const j = await runJson([
      "mpta",
      "validate",
      "--json",
      bad,
      `${pipelines}car_detection_only.mpta`,
    ]);
    assert.equal(j.code, 1);
    const list = j.json as {
      file: string;
      ok: boolean;
      errors: { path: string; message: string }[];
    }[];
    assert.equal(list.length, 2);
    assert.equal(list[0].ok, false);
    assert.ok(list[0].errors.some((e) => e.path === "pipeline.minConfidence"));
    assert.equal(list[1].ok, true);
    assert.deepEqual(list[1].errors, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mpta inspect: tree with models, shapes, classes, triggers, actions; --json without passwords", async () => {
  const file = `${pipelines}car_frontal_full.mpta`;
  const { code, out } = await run(["mpta", "inspect", file]);
  assert.equal(code, 0, out);
  assert.match(
    out,
    /car_frontal_detection_v1 {2}detect yolov8 {2}car_frontal_detection_v1\.onnx {2}input \[1,3,640,640\] → output \[1,6,4\]/,
  );
  assert.match(out, /classes \(2\): Car, Frontal/);
  assert.match(out, /├─ car_brand_cls_v1 {2}classify/);
  assert.match(out, /classes \(5\): Honda, Toyota, Ford, BMW, Kia/);
  assert.match(
    out,
    /triggered by: Frontal {2}minConfidence 0\.85 {2}crop Frontal → 224×224 {2}parallel {2}field brand/,
  );
  assert.match(out, /action 1: redis_save_image key=inference:\{display_id\}/);
  assert.match(out, /parallel action 1: postgresql_update_combined table=car_frontal_info/);
  assert.ok(!out.includes('"detector"'), "no password in the output");
  const j = await runJson(["mpta", "inspect", "--json", file]);
  assert.equal(j.code, 0);
  const s = j.json as {
    ok: boolean;
    postgresql: { password: string };
    pipeline: {
      model: { classNames: string[] };
      branches: { modelId: string; resultField: string }[];
    };
  };
  assert.equal(s.ok, true);
  assert.equal(s.postgresql.password, "***");
  assert.deepEqual(s.pipeline.model.classNames, ["Car", "Frontal"]);
  assert.deepEqual(s.pipeline.branches.map((b) => [b.modelId, b.resultField]), [
    ["car_brand_cls_v1", "brand"],
    ["car_bodytype_cls_v1", "body_type"],
  ]);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/bad.mpta`, brokenArchive());
    const bad = await run(["mpta", "inspect", `${dir}/bad.mpta`]);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /error: pipeline\.minConfidence/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mpta pack: folder → deterministic archive that validates; invalid folders are not written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = `${dir}/src`;
    await Deno.mkdir(`${src}/models`, { recursive: true });
    const p = structuredClone(fullExamplePipeline()) as { pipeline: Record<string, unknown> };
    p.pipeline.modelFile = "models/car_frontal_detection_v1.onnx";
    await Deno.writeTextFile(`${src}/pipeline.json`, JSON.stringify(p, null, 2));
    for (const [name, bytes] of Object.entries(fullExampleModels())) {
      await Deno.writeFile(
        name.includes("detection") ? `${src}/models/${name}` : `${src}/${name}`,
        bytes,
      );
    }
    const a = await run(["mpta", "pack", src, "-o", `${dir}/a.mpta`]);
    assert.equal(a.code, 0, a.out);
    assert.match(a.out, /wrote .*a\.mpta \(\d+ bytes, sha256 [0-9a-f]{16}\)/);
    await run(["mpta", "pack", src, "-o", `${dir}/b.mpta`]);
    assert.deepEqual(await Deno.readFile(`${dir}/a.mpta`), await Deno.readFile(`${dir}/b.mpta`));
    const v = await run(["mpta", "validate", `${dir}/a.mpta`]);
    assert.equal(v.code, 0, v.out);
    // break it: the model the root names is missing
    await Deno.remove(`${src}/models/car_frontal_detection_v1.onnx`);
    const bad = await run(["mpta", "pack", src, "-o", `${dir}/c.mpta`]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.out,
      /pipeline\.modelFile: "models\/car_frontal_detection_v1\.onnx" is not in the archive/,
    );
    assert.match(bad.out, /not written/);
    await assert.rejects(() => Deno.stat(`${dir}/c.mpta`));
    const forced = await run(["mpta", "pack", src, "-o", `${dir}/c.mpta`, "--force"]);
    assert.equal(forced.code, 0);
    assert.match(forced.out, /INVALID/);
    // no pipeline.json: a clear error, non-zero exit
    const empty = `${dir}/empty`;
    await Deno.mkdir(empty);
    const e = await run(["mpta", "pack", empty, "-o", `${dir}/d.mpta`]);
    assert.notEqual(e.code, 0);
    assert.match(e.out, /no pipeline\.json at the top of the folder/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mpta pack: a shipped archive unzipped as is (pipeline.json one level down) packs back to the same bytes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const shipped = await Deno.readFile(`${pipelines}car_frontal_full.mpta`);
    for (const [name, bytes] of Object.entries(unzipSync(shipped))) {
      const path = `${dir}/unpacked/${name}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeFile(path, bytes);
    }
    const r = await run(["mpta", "pack", `${dir}/unpacked`, "-o", `${dir}/again.mpta`]);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(await Deno.readFile(`${dir}/again.mpta`), shipped);
    await Deno.mkdir(`${dir}/unpacked/second`);
    await Deno.writeTextFile(`${dir}/unpacked/second/pipeline.json`, "{}");
    const two = await run(["mpta", "pack", `${dir}/unpacked`, "-o", `${dir}/two.mpta`]);
    assert.equal(two.code, 2, two.out);
    assert.match(two.out, /pipeline\.json in several subfolders/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mpta extract: the files of a shipped archive, usable by detect and packed back to the same bytes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const x = await run([
      "mpta",
      "extract",
      `${pipelines}car_detection_only.mpta`,
      "-o",
      `${dir}/car/`,
    ]);
    assert.equal(x.code, 0, x.out);
    assert.match(x.out, /car\/car_detection_v1\.onnx \(\d+ bytes\)/);
    const again = await run(["mpta", "pack", `${dir}/car`, "-o", `${dir}/again.mpta`]);
    assert.equal(again.code, 0, again.out);
    assert.deepEqual(
      await Deno.readFile(`${dir}/again.mpta`),
      await Deno.readFile(`${pipelines}car_detection_only.mpta`),
    );
    const frame = `${dir}/frame.jpg`;
    await Deno.writeFile(frame, await solidJpeg(320, 240));
    const d = await run(["detect", frame, "--model", `${dir}/car/car_detection_v1.onnx`]);
    assert.equal(d.code, 0, d.out);
    assert.match(d.out, /"detections": \[/);
    const bad = await run(["mpta", "extract", `${dir}/frame.jpg`, "-o", `${dir}/bad`]);
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /not a ZIP archive/);
    await assert.rejects(() => Deno.stat(`${dir}/bad`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
