import assert from "node:assert/strict";
import { startDetector } from "../harness/detector.ts";
import { solidJpeg } from "../harness/jpeg_fixtures.ts";
import { eventually } from "../harness/process.ts";
import { camera } from "./source_helpers.ts";

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return !!a && a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

async function files(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

async function get(url: string): Promise<{ status: number; bytes: Uint8Array; type: string }> {
  const res = await fetch(url);
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    bytes: new Uint8Array(await res.arrayBuffer()),
  };
}

async function upload(base: string, cam: string, jpeg: Uint8Array): Promise<void> {
  const res = await fetch(`${base}/api/clients/${cam}/screenshot`, {
    method: "POST",
    headers: { "content-type": "image/jpeg" },
    body: jpeg as Uint8Array<ArrayBuffer>,
  });
  assert.equal(res.status, 200, await res.text());
}

Deno.test("history: retention, routes, traversal refused, reload after restart", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "history_" });
  const frames = await Promise.all(
    [0, 1, 2, 3, 4].map((i) => solidJpeg(48, 32, [i * 50, 255 - i * 50, 80])),
  );
  let det = await startDetector([
    "serve",
    "--history",
    dir,
    "--history-keep",
    "3",
    "--history-interval",
    "0",
  ]);
  try {
    await t.step("keeps {camera}.jpg and the newest N {camera}_{ms}.jpg", async () => {
      for (const f of frames) await upload(det.url, "cam-a", f);
      await eventually(async () => {
        const names = await files(dir);
        return names.filter((n) => /^cam-a_\d{13}\.jpg$/.test(n)).length === 3 &&
          sameBytes(await Deno.readFile(`${dir}/cam-a.jpg`), frames[4]);
      }, "3 history files and the latest");
      assert.deepEqual((await files(dir)).filter((n) => n.startsWith(".")), [], "no temp files");
    });

    await t.step(
      "GET /cameras/{name}/history lists them, newest first, each downloadable",
      async () => {
        const list = await (await fetch(`${det.url}/cameras/cam-a/history`)).json();
        assert.equal(list.camera, "cam-a");
        assert.equal(list.keep, 3);
        assert.equal(list.items.length, 3);
        const stamps = list.items.map((i: { timestamp: number }) => i.timestamp);
        assert.deepEqual(stamps, [...stamps].sort((a: number, b: number) => b - a));
        for (const [i, item] of list.items.entries()) {
          assert.equal(item.url, `/cameras/cam-a/history/${item.timestamp}.jpg`);
          const r = await get(det.url + item.url);
          assert.equal(r.status, 200);
          assert.equal(r.type, "image/jpeg");
          assert.ok(sameBytes(r.bytes, frames[4 - i]), `item ${i} is frame ${4 - i}`);
        }
        const latest = await get(`${det.url}/screenshots/cam-a`);
        assert.ok(sameBytes(latest.bytes, frames[4]));
      },
    );

    await t.step("bad names and timestamps are refused, never read from disk", async () => {
      const cases: [string, number][] = [
        ["/cameras/cam-a/history/..%2F..%2Fetc%2Fpasswd.jpg", 400],
        ["/cameras/cam-a/history/123.jpg", 400],
        ["/cameras/cam-a/history/1700000000000.jpg", 404],
        ["/cameras/..%2F..%2Fetc/history", 400],
        ["/cameras/../history", 404],
        ["/cameras/..%2e/history/1700000000000.jpg", 400],
        ["/cameras/nobody/history", 404],
      ];
      for (const [path, status] of cases) {
        const r = await fetch(det.url + path);
        assert.equal(r.status, status, `${path}: ${await r.text()}`);
      }
    });

    await t.step("restart: latest frame and history are back before any new frame", async () => {
      await upload(det.url, "cam-b", frames[1]);
      await eventually(async () => (await files(dir)).includes("cam-b.jpg"), "cam-b written");
      const listBefore = await (await fetch(`${det.url}/cameras/cam-a/history`)).json();
      await det.stop();
      await Deno.writeFile(`${dir}/.cam-a.tmp-leftover`, new Uint8Array([1, 2, 3]));
      await Deno.writeFile(`${dir}/broken.jpg`, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 2]));
      det = await startDetector([
        "serve",
        "--history",
        dir,
        "--history-keep",
        "3",
        "--history-interval",
        "0",
      ]);
      const snap = await get(`${det.url}/cameras/cam-a/snapshot.jpg`);
      assert.equal(snap.status, 200, "answers at once after the restart");
      assert.ok(sameBytes(snap.bytes, frames[4]));
      const b = await get(`${det.url}/cameras/cam-b/snapshot.jpg`);
      assert.ok(sameBytes(b.bytes, frames[1]));
      const deflt = await get(`${det.url}/snapshot.jpg`);
      assert.equal(deflt.status, 200, "/snapshot.jpg serves a restored camera");
      const listAfter = await (await fetch(`${det.url}/cameras/cam-a/history`)).json();
      assert.deepEqual(listAfter, listBefore);
      const cam = await camera(det.url, "cam-a");
      assert.equal(cam.state, "push");
      assert.deepEqual(cam.detail, { restored: true });
      const names = await files(dir);
      assert.ok(!names.includes(".cam-a.tmp-leftover"), "temp files of a crash are removed");
      assert.match(det.output(), /latest file is not a complete JPEG; not restored.*broken\.jpg/);
      const broken = await fetch(`${det.url}/cameras/broken/snapshot.jpg`);
      assert.equal(broken.status, 404);
      await broken.body?.cancel();
    });

    await t.step(
      "a smaller --history-keep trims on start; new frames extend the history",
      async () => {
        await det.stop();
        det = await startDetector([
          "serve",
          "--history",
          dir,
          "--history-keep",
          "2",
          "--history-interval",
          "0",
        ]);
        const stamped = (await files(dir)).filter((n) => /^cam-a_\d{13}\.jpg$/.test(n));
        assert.equal(stamped.length, 2);
        await upload(det.url, "cam-a", frames[0]);
        await eventually(
          async () => sameBytes(await Deno.readFile(`${dir}/cam-a.jpg`), frames[0]),
          "new latest",
        );
        const list = await (await fetch(`${det.url}/cameras/cam-a/history`)).json();
        assert.equal(list.items.length, 2);
        const newest = await get(det.url + list.items[0].url);
        assert.ok(sameBytes(newest.bytes, frames[0]));
        assert.equal((await camera(det.url, "cam-a")).seq, 2, "restored frame + the new one");
      },
    );
  } finally {
    await det.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history routes explain when history is off", async () => {
  const det = await startDetector(["serve", "--upload-token", "t"]);
  try {
    const r = await fetch(`${det.url}/cameras/x/history`);
    assert.equal(r.status, 404);
    assert.match((await r.json()).error, /history is off: start serve with --history DIR/);
  } finally {
    await det.stop();
  }
});
