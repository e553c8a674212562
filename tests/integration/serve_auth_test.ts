/**
 * `serve --auth FILE` / `--auth-token`: every route with and without credentials, /metrics on its
 * own token, /healthz open, ingest routes on their own tokens, per-address lockout after failed
 * logins, the browser viewer under Basic, and the warning when exposed without credentials.
 */
import assert from "node:assert/strict";
import { createHash, scryptSync } from "node:crypto";
import { launchChromium } from "../harness/chromium.ts";
import { type Detector, runDetector, startDetector } from "../harness/detector.ts";
import { solidJpeg } from "../harness/jpeg_fixtures.ts";
import { eventually } from "../harness/process.ts";
import { closePeer, concat, framed, handshake, openPush } from "../harness/push_client.ts";
import { snapshotView, tileView } from "../harness/viewer_probe.ts";
import { pushToken } from "../../src/push/push_token.ts";

const TOKEN = "viewer-token-1";
const METRICS = "scrape-token";
const UPLOAD = "upload-token";
const PUSH_SECRET = "push-secret";

const basic = (user: string, pw: string) => `Basic ${btoa(`${user}:${pw}`)}`;
const bearer = (t: string) => `Bearer ${t}`;

async function authFile(dir: string): Promise<string> {
  const salt = "NaCl42";
  const scrypted = scryptSync("carol pw", salt, 32, { N: 16384, r: 8, p: 1 }).toString("hex");
  const sha = createHash("sha256").update("bob pw").digest("hex");
  const path = `${dir}/users`;
  await Deno.writeTextFile(
    path,
    [
      "# viewers",
      "alice:alice pw:with colon",
      `bob:$sha256$${sha}`,
      `carol:$scrypt$${salt}$${scrypted}`,
      "",
    ].join("\n"),
  );
  return path;
}

/** Status of a GET (bodies of streams are cancelled after the headers). */
async function get(
  url: string,
  authorization?: string,
): Promise<{ status: number; challenge: string | null }> {
  const res = await fetch(url, {
    headers: authorization ? { authorization } : {},
    redirect: "manual",
  });
  await res.body?.cancel();
  return { status: res.status, challenge: res.headers.get("www-authenticate") };
}

async function upload(d: Detector, camera: string, headers: Record<string, string>) {
  const res = await fetch(`${d.url}/cameras/${camera}/image`, {
    method: "POST",
    headers: { "content-type": "image/jpeg", ...headers },
    body: await solidJpeg(64, 48) as Uint8Array<ArrayBuffer>,
  });
  await res.body?.cancel();
  return res.status;
}

Deno.test("serve with --auth and --auth-token: every route with and without credentials", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve_auth_" });
  const d = await startDetector([
    "serve",
    "--source",
    "cam=testpattern:?fps=5&size=160x90",
    "--auth",
    await authFile(dir),
    "--auth-token",
    TOKEN,
    "--metrics-token",
    METRICS,
    "--upload-token",
    UPLOAD,
    "--push-secret",
    PUSH_SECRET,
    "--history",
    `${dir}/history`,
    "--history-interval",
    "0",
  ]);
  try {
    // Ingest routes keep their own credentials: no viewer login needed, their token is.
    assert.equal(await upload(d, "door", {}), 401);
    assert.equal(await upload(d, "door", { authorization: bearer(UPLOAD) }), 200);
    const peer = await openPush(d.url);
    peer.send(concat(handshake(7, pushToken(PUSH_SECRET, 7)), framed(await solidJpeg(64, 48))));
    const alice = basic("alice", "alice pw:with colon");
    await eventually(
      async () => (await get(`${d.url}/cameras/7/snapshot.jpg`, alice)).status === 200,
      "the pushed camera",
    );
    await closePeer(peer);
    await eventually(
      async () => (await get(`${d.url}/snapshot.jpg`, alice)).status === 200,
      "a frame of cam",
    );
    const history = await (await fetch(`${d.url}/cameras/door/history`, {
      headers: { authorization: alice },
    })).json();
    assert.equal(history.items.length, 1);

    const routes: [string, number][] = [
      ["/", 200],
      ["/cameras", 200],
      ["/cameras/cam/", 200],
      ["/cameras/cam", 301],
      ["/stream.mjpg", 200],
      ["/stream", 200],
      ["/cameras/cam/stream.mjpg", 200],
      ["/snapshot.jpg", 200],
      ["/cameras/cam/snapshot.jpg", 200],
      ["/cameras/cam/events", 200],
      ["/cameras/cam/events?images=1", 200],
      ["/cameras/door/history", 200],
      [history.items[0].url, 200],
      ["/screenshots/door", 200],
      ["/list", 200],
      ["/cameras/nope/snapshot.jpg", 404],
    ];
    const good = [
      alice,
      basic("bob", "bob pw"),
      basic("carol", "carol pw"),
      bearer(TOKEN),
      `bearer   ${TOKEN}`,
    ];
    const wrong = [
      undefined,
      basic("alice", "alice pw"),
      basic("bob", `$sha256$${createHash("sha256").update("bob pw").digest("hex")}`),
      basic("carol", "wrong"),
      basic("mallory", "alice pw:with colon"),
      bearer("viewer-token-2"),
      bearer(METRICS),
      "Basic !!!notbase64",
      "Digest username=alice",
    ];
    // Wrong attempts count towards the lockout: stay below it here (it has its own test).
    for (const [path, status] of routes) {
      for (const auth of good) {
        assert.equal((await get(d.url + path, auth)).status, status, `${path} with ${auth}`);
      }
      for (const auth of [undefined, wrong[1 + routes.findIndex((r) => r[0] === path) % 8]]) {
        const r = await get(d.url + path, auth);
        assert.equal(r.status, 401, `${path} with ${auth}`);
        assert.equal(r.challenge, 'Basic realm="detector", charset="UTF-8"');
      }
    }
    for (const auth of wrong) {
      assert.equal((await get(`${d.url}/cameras`, auth)).status, 401, String(auth));
    }
    // The other routes' methods and HEAD are guarded too.
    const head = await fetch(`${d.url}/cameras/cam/stream.mjpg`, { method: "HEAD" });
    assert.equal(head.status, 401);

    // A good login clears the address's failures.
    assert.equal((await get(`${d.url}/cameras`, alice)).status, 200);
    // /metrics: its own token only; /healthz: open.
    assert.equal((await get(`${d.url}/metrics`)).status, 401);
    assert.equal((await get(`${d.url}/metrics`, alice)).status, 401);
    assert.equal((await get(`${d.url}/metrics`, bearer(TOKEN))).status, 401);
    const m = await get(`${d.url}/metrics`, bearer(METRICS));
    assert.equal(m.status, 200);
    assert.equal((await get(`${d.url}/healthz`)).status, 200);
    const text = await (await fetch(`${d.url}/metrics`, {
      headers: { authorization: bearer(METRICS) },
    })).text();
    const refused = (reason: string) =>
      Number(
        new RegExp(`^detector_http_auth_refused_total\\{reason="${reason}"\\} (\\d+)$`, "m")
          .exec(text)?.[1] ?? 0,
      );
    assert.ok(refused("missing") >= routes.length, text);
    assert.ok(refused("invalid") >= routes.length + wrong.length - 1);
    assert.equal(refused("rate_limited"), 0);
  } finally {
    await d.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("too many wrong logins from one address lock it out for a while", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve_auth_" });
  const d = await startDetector([
    "serve",
    "--source",
    "cam=testpattern:?fps=2&size=64x48",
    "--auth",
    await authFile(dir),
    "--metrics-open",
  ]);
  try {
    const alice = basic("alice", "alice pw:with colon");
    assert.equal((await get(`${d.url}/cameras`, alice)).status, 200);
    for (let i = 0; i < 10; i++) {
      assert.equal((await get(`${d.url}/cameras`, basic("alice", `guess ${i}`))).status, 401);
    }
    const res = await fetch(`${d.url}/cameras`, { headers: { authorization: alice } });
    await res.body?.cancel();
    assert.equal(res.status, 429, "even the right password waits");
    assert.ok(Number(res.headers.get("retry-after")) > 0);
    assert.equal((await get(`${d.url}/healthz`)).status, 200);
    const text = await (await fetch(`${d.url}/metrics`)).text();
    assert.match(text, /^detector_http_auth_refused_total\{reason="invalid"\} 10$/m);
    assert.match(text, /^detector_http_auth_refused_total\{reason="rate_limited"\} 1$/m);
    assert.match(d.output(), /refused wrong credentials/);
    assert.match(d.output(), /too many failed logins/);
  } finally {
    await d.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the browser viewer works under Basic: streams, snapshots and the camera page", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve_auth_" });
  const names = ["c1", "c2", "c3", "c4", "c5"];
  const d = await startDetector([
    "serve",
    ...names.flatMap((n) => ["--source", `${n}=testpattern:?fps=3&size=160x90`]),
    "--auth",
    await authFile(dir),
  ]);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.useCredentials("bob", "bob pw");
    await page.navigate(`${d.url}/`);
    await eventually(async () => {
      const modes = await page.evaluate<string[]>(
        `[...document.querySelectorAll("figure")].map((f) => f.dataset.mode)`,
      );
      return modes.length === 5 && modes[4] === "snapshot";
    }, "five tiles, the fifth refreshed from snapshots");
    for (const name of names) {
      await eventually(
        async () => (await tileView(page, name)).width === 160,
        `tile ${name} shows a picture under Basic`,
        20_000,
      );
    }
    const shown = new Set<string>();
    await eventually(
      async () => {
        shown.add((await tileView(page, "c5")).hash ?? "");
        return shown.size >= 3;
      },
      "the snapshot tile to refresh",
      20_000,
    );
    await page.navigate(`${d.url}/cameras/c2/`);
    await eventually(
      async () =>
        (await tileView(page, "c2")).width === 0 &&
        await page.evaluate<number>(`document.querySelector("#camera img")?.naturalWidth ?? 0`) ===
          160,
      "the camera page's stream under Basic",
    );
    assert.equal((await snapshotView(page, "c2")).width, 160);
  } finally {
    await browser.close();
    await d.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a warning when reachable beyond this machine without credentials; bad files refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve_auth_" });
  try {
    const open = await startDetector(["serve", "--host", "0.0.0.0", "--source", "c=testpattern:"]);
    await open.stop();
    assert.match(open.output(), /without --auth or --auth-token: every host/);
    const closed = await startDetector([
      "serve",
      "--host",
      "0.0.0.0",
      "--source",
      "c=testpattern:",
      "--auth-token",
      TOKEN,
    ]);
    await closed.stop();
    assert.doesNotMatch(closed.output(), /without --auth/);
    const local = await startDetector(["serve", "--source", "c=testpattern:"]);
    await local.stop();
    assert.doesNotMatch(local.output(), /without --auth/);

    const cases: [string, RegExp][] = [
      ["alice:pw\nnocolon\n", /users line 2: expected user:password/],
      ["alice:pw\nalice:other\n", /users line 2: user "alice" is listed twice/],
      ["alice:\n", /users line 1: user "alice" has an empty password/],
      ["alice:$sha256$abc\n", /users line 1: \$sha256\$ must be followed by 64 hex digits/],
      ["alice:$2y$10$abcdefghijklmnopqrstuv\n", /users line 1: bcrypt hashes are not supported/],
      ["# nobody\n", /lists no user:password line/],
    ];
    for (const [text, re] of cases) {
      await Deno.writeTextFile(`${dir}/users`, text);
      const child = runDetector(["serve", "--source", "c=testpattern:", "--auth", `${dir}/users`]);
      const status = await child.status;
      assert.notEqual(status.code, 0, text);
      assert.match(child.output(), re, text);
    }
    const missing = runDetector(["serve", "--source", "c=testpattern:", "--auth", `${dir}/none`]);
    assert.notEqual((await missing.status).code, 0);
    assert.match(missing.output(), /cannot read --auth file .*none/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
