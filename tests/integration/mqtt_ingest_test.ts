import assert from "node:assert/strict";
import sharp from "sharp";
import { checkJpeg } from "../../src/core/jpeg.ts";
import { startDetector } from "../harness/detector.ts";
import { noisyJpeg, solidJpeg } from "../harness/jpeg_fixtures.ts";
import { type Mosquitto, mosquittoPub, startMosquitto } from "../harness/mosquitto.ts";
import { eventually } from "../harness/process.ts";
import { metrics, metricValue } from "../harness/push_client.ts";
import { camera, snapshot } from "./source_helpers.ts";

const PASSWORD = "mqtt-pass-not-for-logs";

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return !!a && a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern, "g"))?.length ?? 0;
}

Deno.test("MQTT screenshots: raw JPEG/PNG and JSON base64, malformed counted, reconnects", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "mqtt_" });
  let broker: Mosquitto | undefined = await startMosquitto();
  const port = broker.port;
  const det = await startDetector([
    "serve",
    "--mqtt",
    `mqtt://detector:${PASSWORD}@127.0.0.1:${port}/infoscreen/+/screenshot`,
  ]);
  const file = async (name: string, bytes: Uint8Array) => {
    const path = `${tmp}/${name}`;
    await Deno.writeFile(path, bytes);
    return { file: path };
  };
  const rejected = async (reason: string) =>
    metricValue(await metrics(det.url), "detector_push_rejected_total", { reason, via: "mqtt" });
  try {
    await det.waitFor(/MQTT subscribed/);
    const red = await solidJpeg(64, 48, [230, 20, 20]);
    const noisy = await noisyJpeg(80, 60, 9);
    const png = new Uint8Array(
      await sharp({
        create: { width: 40, height: 30, channels: 3, background: { r: 20, g: 220, b: 20 } },
      }).png().toBuffer(),
    );

    await t.step("raw JPEG payload: the + level names the camera", async () => {
      await mosquittoPub(port, "infoscreen/uuid-1/screenshot", await file("a.jpg", red));
      await eventually(async () => sameBytes(await snapshot(det.url, "uuid-1"), red), "uuid-1");
      assert.equal((await camera(det.url, "uuid-1")).state, "push");
    });

    await t.step("raw PNG payload is converted to JPEG", async () => {
      await mosquittoPub(port, "infoscreen/uuid-2/screenshot", await file("b.png", png));
      const jpeg = await eventually(
        () => snapshot(det.url, "uuid-2").catch(() => undefined),
        "uuid-2",
      );
      const check = checkJpeg(jpeg);
      assert.ok(check.ok && check.info.width === 40 && check.info.height === 30);
      assert.ok((await sharp(jpeg).stats()).channels[1].mean > 190, "still green");
    });

    await t.step('JSON {"image": base64} payload', async () => {
      await mosquittoPub(port, "infoscreen/uuid-1/screenshot", {
        message: JSON.stringify({ image: noisy.toBase64() }),
      });
      await eventually(
        async () => sameBytes(await snapshot(det.url, "uuid-1"), noisy),
        "json frame",
      );
      assert.equal((await camera(det.url, "uuid-1")).seq, 2);
    });

    await t.step("malformed payloads are counted and logged, never fatal", async () => {
      const cases: [string, { file: string } | { message: string }, string][] = [
        ["infoscreen/uuid-3/screenshot", { message: '{"img": "x"}' }, "no_image_field"],
        ["infoscreen/uuid-3/screenshot", { message: '{"image": "%%%"}' }, "bad_base64"],
        ["infoscreen/uuid-3/screenshot", { message: "{not json" }, "bad_json"],
        [
          "infoscreen/uuid-3/screenshot",
          { message: JSON.stringify({ image: new TextEncoder().encode("plain text").toBase64() }) },
          "not_image",
        ],
        [
          "infoscreen/uuid-3/screenshot",
          await file("g.bin", new Uint8Array(300).fill(0x42)),
          "not_image",
        ],
        ["infoscreen/uuid-3/screenshot", await file("cut.jpg", noisy.subarray(0, 200)), "bad_jpeg"],
        ["infoscreen/bad name/screenshot", await file("ok.jpg", red), "bad_camera"],
      ];
      for (const [topic, payload, reason] of cases) {
        const before = await rejected(reason);
        await mosquittoPub(port, topic, payload);
        await eventually(async () => await rejected(reason) === before + 1, `${reason} counted`);
      }
      const cam3 = await fetch(`${det.url}/cameras/uuid-3/snapshot.jpg`);
      assert.equal(cam3.status, 404, "nothing from the malformed payloads was cached");
      await cam3.body?.cancel();
      await det.waitFor(/MQTT payload refused.*reason=no_image_field/);
      assert.equal(
        await fetch(`${det.url}/healthz`).then((r) => (r.body?.cancel(), r.status)),
        200,
      );
    });

    await t.step("the broker goes away and comes back: reconnect and resubscribe", async () => {
      await broker!.stop();
      broker = undefined;
      await det.waitFor(/MQTT reconnecting/);
      await new Promise((r) => setTimeout(r, 1500));
      const subscribedBefore = count(det.output(), /MQTT subscribed/);
      broker = await startMosquitto(port);
      await eventually(
        () => count(det.output(), /MQTT subscribed/) > subscribedBefore,
        "resubscribed after the broker restart",
        40_000,
      );
      await mosquittoPub(port, "infoscreen/uuid-1/screenshot", await file("c.jpg", red));
      await eventually(
        async () => (await camera(det.url, "uuid-1")).seq === 3,
        "frame after restart",
      );
      assert.ok(sameBytes(await snapshot(det.url, "uuid-1"), red));
      const m = await metrics(det.url);
      assert.ok(m.includes("detector_mqtt_reconnects_total"));
    });

    assert.ok(!det.output().includes(PASSWORD), "the broker password must not be logged");
    assert.match(det.output(), /detector:\*\*\*@127\.0\.0\.1/);
  } finally {
    await det.stop();
    await broker?.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("--mqtt without a + level is a startup error naming the flag", async () => {
  const { runDetector } = await import("../harness/detector.ts");
  const child = runDetector([
    "serve",
    "--port",
    "0",
    "--mqtt",
    "mqtt://127.0.0.1:1/infoscreen/x/screenshot",
  ]);
  assert.equal((await child.status).code, 2);
  assert.match(child.output(), /--mqtt topic "infoscreen\/x\/screenshot" needs a "\+" level/);
});
