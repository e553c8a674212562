import assert from "node:assert/strict";
import sharp from "sharp";
import { startDetector } from "../harness/detector.ts";
import { noisyJpeg, solidJpeg } from "../harness/jpeg_fixtures.ts";
import { spawnChild } from "../harness/process.ts";
import { metrics, metricValue } from "../harness/push_client.ts";
import { checkJpeg } from "../../src/core/jpeg.ts";
import { camera, snapshot } from "./source_helpers.ts";

const TOKEN = "upload-test-token";
const MAX = 100_000;

interface CurlResult {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  headers: string;
}

/** Runs curl (a real HTTP client, as the issue asks) and returns status, headers and JSON body. */
async function curl(args: string[], auth = true): Promise<CurlResult> {
  const child = spawnChild("curl", [
    "-sS",
    "-D",
    "/dev/stderr",
    "-w",
    "\n%{http_code}",
    ...(auth ? ["-H", `Authorization: Bearer ${TOKEN}`] : []),
    ...args,
  ]);
  const st = await child.status;
  assert.equal(st.code, 0, child.output());
  const out = child.output();
  const status = Number(out.trim().split("\n").at(-1));
  const jsonStart = out.indexOf("{");
  const body = jsonStart >= 0 ? JSON.parse(out.slice(jsonStart, out.lastIndexOf("}") + 1)) : null;
  return { status, body, headers: out.slice(0, jsonStart < 0 ? out.length : jsonStart) };
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return !!a && a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

async function rejected(url: string, reason: string): Promise<number> {
  return metricValue(await metrics(url), "detector_push_rejected_total", { reason, via: "http" });
}

Deno.test("HTTP upload: screenshot API, form posts, PNG to JPEG, errors", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "upload_" });
  const det = await startDetector([
    "serve",
    "--source",
    "pulled=testpattern:?fps=1&size=64x48",
    "--upload-token",
    TOKEN,
    "--max-frame-bytes",
    String(MAX),
  ]);
  const file = async (name: string, bytes: Uint8Array) => {
    const path = `${tmp}/${name}`;
    await Deno.writeFile(path, bytes);
    return path;
  };
  try {
    const red = await solidJpeg(80, 60, [240, 10, 10]);
    const noisy = await noisyJpeg(120, 80, 5);
    const png = new Uint8Array(
      await sharp({
        create: { width: 50, height: 40, channels: 3, background: { r: 10, g: 10, b: 240 } },
      }).png().toBuffer(),
    );
    const redPath = await file("red.jpg", red);
    const pngPath = await file("blue.png", png);
    const api = (cam: string) => `${det.url}/api/clients/${cam}/screenshot`;

    await t.step("JSON base64 (seed 000 listener format)", async () => {
      const body = await file(
        "shot.json",
        new TextEncoder().encode(JSON.stringify({ image: red.toBase64() })),
      );
      const r = await curl([
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        `@${body}`,
        api("c0ffee-1"),
      ]);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, {
        camera: "c0ffee-1",
        seq: 1,
        bytes: red.byteLength,
        width: 80,
        height: 60,
        converted: false,
      });
      assert.ok(
        sameBytes(await snapshot(det.url, "c0ffee-1"), red),
        "JPEG bytes pass through untouched",
      );
      assert.equal((await camera(det.url, "c0ffee-1")).state, "push");
      // A data: URL prefix is accepted too.
      const dataUrl = await file(
        "d.json",
        new TextEncoder().encode(
          JSON.stringify({ image: `data:image/jpeg;base64,${noisy.toBase64()}` }),
        ),
      );
      const r2 = await curl([
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        `@${dataUrl}`,
        api("c0ffee-1"),
      ]);
      assert.equal(r2.status, 200);
      assert.ok(sameBytes(await snapshot(det.url, "c0ffee-1"), noisy));
    });

    await t.step("raw image/jpeg and image/png bodies; PNG is converted to JPEG once", async () => {
      const r = await curl([
        "-H",
        "Content-Type: image/jpeg",
        "--data-binary",
        `@${redPath}`,
        api("raw"),
      ]);
      assert.equal(r.status, 200);
      assert.ok(sameBytes(await snapshot(det.url, "raw"), red));
      const p = await curl([
        "-H",
        "Content-Type: image/png",
        "--data-binary",
        `@${pngPath}`,
        api("raw"),
      ]);
      assert.equal(p.status, 200, JSON.stringify(p.body));
      assert.equal(p.body.converted, true);
      assert.deepEqual([p.body.width, p.body.height], [50, 40]);
      const jpeg = (await snapshot(det.url, "raw"))!;
      const check = checkJpeg(jpeg);
      assert.ok(check.ok && check.info.width === 50 && check.info.height === 40);
      const stats = await sharp(jpeg).stats();
      assert.ok(stats.channels[2].mean > 200 && stats.channels[0].mean < 40, "still blue");
    });

    await t.step("multipart: /cameras/{name}/image and /update-image with cameraId", async () => {
      const r = await curl([
        "-F",
        `image=@${redPath};type=image/jpeg`,
        `${det.url}/cameras/door/image`,
      ]);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(sameBytes(await snapshot(det.url, "door"), red));
      const u = await curl([
        "-F",
        `image=@${pngPath}`,
        "-F",
        "cameraId=yard",
        `${det.url}/update-image`,
      ]);
      assert.equal(u.status, 200, JSON.stringify(u.body));
      assert.equal(u.body.camera, "yard");
      assert.equal(u.body.converted, true);
      const shot = await fetch(`${det.url}/screenshots/yard`);
      assert.equal(shot.headers.get("content-type"), "image/jpeg");
      assert.ok(checkJpeg(new Uint8Array(await shot.arrayBuffer())).ok);
      const nginxForm = await fetch(`${det.url}/screenshots/door.jpg`);
      assert.ok(sameBytes(new Uint8Array(await nginxForm.arrayBuffer()), red));
      const missing = await fetch(`${det.url}/screenshots/nobody`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    });

    await t.step("401 without or with a wrong bearer token", async () => {
      const before = await rejected(det.url, "unauthorized");
      const none = await curl([
        "-H",
        "Content-Type: image/jpeg",
        "--data-binary",
        `@${redPath}`,
        api("x"),
      ], false);
      assert.equal(none.status, 401);
      assert.match(none.body.error, /Authorization: Bearer/);
      assert.match(none.headers, /www-authenticate: Bearer/i);
      const wrong = await curl([
        "-H",
        "Authorization: Bearer nope",
        "-H",
        "Content-Type: image/jpeg",
        "--data-binary",
        `@${redPath}`,
        api("x"),
      ], false);
      assert.equal(wrong.status, 401);
      assert.equal(await rejected(det.url, "unauthorized"), before + 2);
      assert.equal(
        await fetch(`${det.url}/cameras/x/snapshot.jpg`).then((r) => (r.body?.cancel(), r.status)),
        404,
      );
    });

    await t.step("413 by Content-Length and while streaming a chunked body", async () => {
      const bigPath = await file("big.jpg", new Uint8Array(MAX + 1).fill(7));
      const r = await curl([
        "-H",
        "Content-Type: image/jpeg",
        "--data-binary",
        `@${bigPath}`,
        api("big"),
      ]);
      assert.equal(r.status, 413);
      assert.match(r.body.error, new RegExp(`over the limit of ${MAX}`));
      // A body with no length that never ends: refused once it passes the limit.
      let pushed = 0;
      const endless = new ReadableStream<Uint8Array>({
        pull(c) {
          pushed += 16_384;
          c.enqueue(new Uint8Array(16_384));
        },
      });
      const res = await fetch(api("big"), {
        method: "POST",
        headers: { "content-type": "image/jpeg", authorization: `Bearer ${TOKEN}` },
        body: endless,
        // @ts-ignore: Deno's fetch takes duplex for streamed request bodies
        duplex: "half",
      });
      assert.equal(res.status, 413);
      assert.match((await res.json()).error, /body is over the limit/);
      assert.ok(pushed < 100 * MAX, `client pushed ${pushed} bytes before the answer`);
      const base64Big = await file(
        "bigjson.json",
        new TextEncoder().encode(
          JSON.stringify({ image: new Uint8Array(MAX + 10).fill(0xff).toBase64() }),
        ),
      );
      const j = await curl([
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        `@${base64Big}`,
        api("big"),
      ]);
      assert.equal(j.status, 413);
      assert.equal(j.body.reason, "too_big");
      assert.ok(await rejected(det.url, "too_big") >= 3);
    });

    await t.step("415 for an unaccepted Content-Type", async () => {
      const r = await curl(["-H", "Content-Type: text/plain", "--data-binary", "hello", api("t")]);
      assert.equal(r.status, 415);
      assert.match(r.body.error, /Content-Type "text\/plain" is not accepted/);
    });

    await t.step(
      "400s name the problem: JSON without image, non-image base64, bad base64…",
      async () => {
        const cases: [string[], string, RegExp][] = [
          [
            ["-H", "Content-Type: application/json", "--data-binary", '{"img":"x"}', api("b")],
            "no_image_field",
            /no "image" field/,
          ],
          [
            [
              "-H",
              "Content-Type: application/json",
              "--data-binary",
              `{"image":"${new TextEncoder().encode("just some text, no image").toBase64()}"}`,
              api("b"),
            ],
            "not_image",
            /neither JPEG nor PNG/,
          ],
          [
            [
              "-H",
              "Content-Type: application/json",
              "--data-binary",
              '{"image":"***not base64***"}',
              api("b"),
            ],
            "bad_base64",
            /not valid base64/,
          ],
          [
            ["-H", "Content-Type: application/json", "--data-binary", '{"image": 5', api("b")],
            "bad_json",
            /not valid JSON/,
          ],
          [
            [
              "-H",
              "Content-Type: image/jpeg",
              "--data-binary",
              "@" + await file("cut.jpg", noisy.subarray(0, 500)),
              api("b"),
            ],
            "bad_jpeg",
            /bad JPEG/,
          ],
          [
            [
              "-H",
              "Content-Type: image/png",
              "--data-binary",
              "@" +
              await file(
                "bad.png",
                new Uint8Array([...png.subarray(0, 40), ...new Uint8Array(100).fill(3)]),
              ),
              api("b"),
            ],
            "bad_png",
            /PNG could not be decoded/,
          ],
          [
            ["-F", "picture=@" + redPath, `${det.url}/cameras/b/image`],
            "no_image_field",
            /form field "image" is missing/,
          ],
          [
            ["-F", "image=@" + redPath, `${det.url}/update-image`],
            "no_camera_field",
            /form field "cameraId" is missing/,
          ],
          [
            ["-F", "image=@" + redPath, "-F", "cameraId=../etc", `${det.url}/update-image`],
            "bad_camera",
            /camera name/,
          ],
          [
            [
              "-H",
              "Content-Type: image/jpeg",
              "--data-binary",
              "@" + redPath,
              `${det.url}/api/clients/..%2F..%2Fx/screenshot`,
            ],
            "bad_camera",
            /camera name/,
          ],
        ];
        for (const [args, reason, message] of cases) {
          const before = await rejected(det.url, reason);
          const r = await curl(args);
          assert.equal(r.status, 400, `${reason}: ${JSON.stringify(r.body)}`);
          assert.equal(r.body.reason, reason);
          assert.match(r.body.error, message);
          assert.equal(await rejected(det.url, reason), before + 1, `${reason} counted`);
        }
        assert.equal(
          await fetch(`${det.url}/cameras/b/snapshot.jpg`).then((
            r,
          ) => (r.body?.cancel(), r.status)),
          404,
        );
      },
    );

    await t.step("409 for a camera that a --source feeds", async () => {
      const r = await curl([
        "-H",
        "Content-Type: image/jpeg",
        "--data-binary",
        `@${redPath}`,
        api("pulled"),
      ]);
      assert.equal(r.status, 409);
      assert.match(r.body.error, /--source/);
    });

    await t.step("refusals are logged without the token", async () => {
      await det.waitFor(/upload refused.*status=415/);
      assert.ok(!det.output().includes(TOKEN));
      assert.equal(
        await fetch(`${det.url}/healthz`).then((r) => (r.body?.cancel(), r.status)),
        200,
      );
    });
  } finally {
    await det.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});
