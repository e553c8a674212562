/**
 * `run --backend-token`: only a backend with the token gets the WebSocket (bearer header or
 * `?token=`), others 401 before the upgrade; without a token a warning. `--allow-hosts`: a
 * backend cannot point the worker's streams or model downloads at hosts not on the list.
 */
import assert from "node:assert/strict";
import { connectBackend, type Message } from "../harness/backend_client.ts";
import { runDetector, startDetector } from "../harness/detector.ts";

const TOKEN = "backend-secret-1";

/** The status line and headers of a raw WebSocket upgrade request. */
async function upgradeStatus(base: string, path = "/", extra = ""): Promise<string> {
  const u = new URL(base);
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  try {
    await conn.write(new TextEncoder().encode(
      `GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    ));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0));
  } finally {
    conn.close();
  }
}

Deno.test("run --backend-token: a backend without the token is refused before the upgrade", async () => {
  const d = await startDetector(["run", "--host", "127.0.0.1", "--backend-token", TOKEN]);
  try {
    for (
      const [path, extra] of [
        ["/", ""],
        ["/?token=wrong", ""],
        ["/", "Authorization: Bearer wrong\r\n"],
        ["/", `Authorization: Basic ${btoa(`x:${TOKEN}`)}\r\n`],
      ]
    ) {
      const head = await upgradeStatus(d.url, path, extra);
      assert.match(head, /^HTTP\/1\.1 401 /, `${path} ${extra}: ${head}`);
      assert.match(head, /www-authenticate: Bearer/i);
    }
    await assert.rejects(connectBackend(d.url), /failed/);
    assert.match(
      await upgradeStatus(d.url, "/", `Authorization: Bearer ${TOKEN}\r\n`),
      /^HTTP\/1\.1 101 /,
    );

    const byHeader = await connectBackend(d.url, 10_000, { authorization: `Bearer ${TOKEN}` });
    await byHeader.waitFor((m) => m.type === "stateReport", "a stateReport with the bearer token");
    const byQuery = await connectBackend(`${d.url}/?token=${TOKEN}`);
    await byQuery.waitFor((m) => m.type === "stateReport", "a stateReport with ?token=");
    assert.equal((await byHeader.closed).code, 1008, "the newer backend took over");
    await byQuery.close();

    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    assert.match(metrics, /^detector_worker_backend_refused_total\{reason="missing"\} [1-9]/m);
    assert.match(metrics, /^detector_worker_backend_refused_total\{reason="invalid"\} [1-9]/m);
    assert.match(d.output(), /refused a backend connection with a wrong token/);
    assert.doesNotMatch(d.output(), new RegExp(TOKEN), "the token is never logged");
    assert.doesNotMatch(d.output(), /no --backend-token/);
  } finally {
    await d.stop();
  }
});

Deno.test("run without --backend-token warns that anyone can be the backend", async () => {
  const d = await startDetector(["run", "--host", "127.0.0.1"]);
  try {
    await d.waitFor(/no --backend-token: any client that reaches/);
    const backend = await connectBackend(d.url);
    await backend.waitFor((m) => m.type === "stateReport", "a stateReport");
    await backend.close();
  } finally {
    await d.stop();
  }
});

Deno.test("run --allow-hosts: streams and models only from listed hosts, refusals name the host", async () => {
  const d = await startDetector([
    "run",
    "--host",
    "127.0.0.1",
    "--backend-token",
    TOKEN,
    "--allow-hosts",
    "cams.lan, *.cams.lan,10.20.0.0/16 ,127.0.0.1:1",
    "--allow-model-hosts",
    "127.0.0.1:1",
  ]);
  const backend = await connectBackend(d.url, 10_000, { authorization: `Bearer ${TOKEN}` });
  try {
    const sub = (id: string, stream: string, modelUrl = "http://127.0.0.1:1/m.mpta") => ({
      subscriptionIdentifier: `display;${id}`,
      rtspUrl: stream,
      modelUrl,
      modelId: 1,
      modelName: "m",
    });
    const refused: [Record<string, unknown>, RegExp][] = [
      [
        sub("internal", "rtsp://10.0.0.5/live"),
        /"display;internal": rtspUrl host 10\.0\.0\.5 is not allowed by --allow-hosts/,
      ],
      [
        sub("metadata", "rtsp://cams.lan/a", "http://169.254.169.254/latest.mpta"),
        /"display;metadata": modelUrl host 169\.254\.169\.254 is not allowed by --allow-model-hosts/,
      ],
      [
        sub("userinfo", "rtsp://cams.lan@127.0.0.1:8554/x"),
        /rtspUrl host 127\.0\.0\.1:8554 is not allowed/,
      ],
      [sub("port", "http://127.0.0.1:2/video.mjpg"), /rtspUrl host 127\.0\.0\.1:2 is not allowed/],
      [sub("suffix", "rtsp://evilcams.lan/x"), /rtspUrl host evilcams\.lan is not allowed/],
      [
        {
          ...sub("snap", "rtsp://cams.lan/a"),
          snapshotUrl: "http://192.168.1.1/snap.jpg",
          snapshotInterval: 1000,
        },
        /"display;snap": snapshotUrl host 192\.168\.1\.1 is not allowed/,
      ],
    ];
    const allowed = [
      sub("plain", "rtsp://cams.lan/a"),
      sub("wild", "rtsp://user:pw@door.cams.lan:8554/a"),
      sub("range", "rtsp://10.20.3.4/a"),
      sub("pattern", "testpattern:?fps=1&size=64x48"),
    ];
    const mark = backend.received.length;
    backend.send({
      type: "setSubscriptionList",
      subscriptions: [...refused.map(([s]) => s), ...allowed],
    });
    const errors = await backend.waitForCount(
      (m) => m.type === "error",
      refused.length,
      "one error per refused subscription",
      15_000,
      mark,
    );
    for (const [, re] of refused) {
      assert.ok(
        errors.some((e: Message) => re.test(e.message)),
        `${re} in ${JSON.stringify(errors)}`,
      );
    }
    backend.send({ type: "requestState" });
    const report = await backend.waitFor(
      (m) => m.type === "stateReport" && m.cameraConnections.length === allowed.length,
      "the allowed subscriptions, and only those, in the stateReport",
      15_000,
      mark,
    );
    assert.deepEqual(
      report.cameraConnections.map((c: Message) => c.subscriptionIdentifier).sort(),
      allowed.map((s) => s.subscriptionIdentifier).sort(),
    );

    const before = backend.received.length;
    backend.send({ type: "subscribe", payload: sub("single", "rtsp://172.16.0.1/x") });
    await backend.waitFor(
      (m) =>
        m.type === "error" &&
        /"display;single": rtspUrl host 172\.16\.0\.1 is not allowed/.test(m.message),
      "subscribe refused too",
      15_000,
      before,
    );
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    assert.match(metrics, /^detector_worker_hosts_refused_total 7$/m);
  } finally {
    await backend.close();
    await d.stop();
  }
});

Deno.test("run --allow-hosts with a bad entry is a startup error naming it", async () => {
  for (
    const [list, re] of [
      ["cams.lan,10.0.0.0/40", /--allow-hosts: "10\.0\.0\.0\/40" is not an address range/],
      ["cams.lan:99999", /--allow-hosts: "cams\.lan:99999" has a port outside/],
      ["bad_host!", /--allow-hosts: "bad_host!" is not a host name/],
      [",", /--allow-hosts lists no host/],
    ]
  ) {
    const child = runDetector(["run", "--port", "0", "--allow-hosts", list as string]);
    assert.notEqual((await child.status).code, 0, String(list));
    assert.match(child.output(), re as RegExp);
  }
});
