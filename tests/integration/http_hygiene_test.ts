import assert from "node:assert/strict";
import { startDetector } from "../harness/detector.ts";
import { spawnChild } from "../harness/process.ts";
import { metrics, metricValue } from "../harness/push_client.ts";

const mainTs = new URL("../../main.ts", import.meta.url).pathname;
const encoder = new TextEncoder();

/** Resolves "closed" once the server closes the socket, "open" if it still holds it after `ms`. */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<"closed" | "open"> {
  const buf = new Uint8Array(64 * 1024);
  const until = Date.now() + ms;
  while (Date.now() < until) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wait = new Promise<"open">((r) =>
      timer = setTimeout(() => r("open"), until - Date.now())
    );
    try {
      const n = await Promise.race([conn.read(buf), wait]);
      if (n === null) return "closed";
      if (n === "open") return "open";
    } catch {
      return "closed";
    } finally {
      clearTimeout(timer);
    }
  }
  return "open";
}

async function healthz(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

Deno.test("HTTP: more idle sockets than the open-file limit allows, /healthz still answers", async () => {
  const child = spawnChild("prlimit", [
    "--nofile=256:256",
    Deno.execPath(),
    "run",
    "-A",
    mainTs,
    "serve",
    "--source",
    "demo=testpattern:?fps=1&size=64x48",
    "--port",
    "0",
    "--header-timeout",
    "2s",
  ]);
  const conns: Deno.Conn[] = [];
  try {
    const url = (await child.waitFor(/listening on (http:\/\/[^\s]+)/, 30_000))[1];
    const port = Number(new URL(url).port);
    for (let i = 0; i < 300; i++) conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    let status = 0;
    const until = Date.now() + 20_000;
    while (status !== 200 && Date.now() < until) {
      status = await healthz(url);
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(status, 200, child.output());
    const text = await metrics(url);
    assert.ok(
      metricValue(text, "detector_http_connections_refused_total", { reason: "limit" }) > 0,
      text,
    );
    assert.ok(
      metricValue(text, "detector_http_connections_timed_out_total", { phase: "header" }) > 0,
      text,
    );
    let closed = 0;
    for (const c of conns) if (await closedWithin(c, 5000) === "closed") closed++;
    assert.equal(closed, conns.length, "every idle socket is eventually closed by the server");
    const exited = await Promise.race([child.status.then(() => true), Promise.resolve(false)]);
    assert.equal(exited, false, child.output());
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await child.stop();
  }
});

Deno.test("HTTP: half-sent heads, idle keep-alive and stalled bodies are closed", async (t) => {
  const det = await startDetector([
    "serve",
    "--source",
    "demo=testpattern:?fps=5&size=64x48",
    "--upload-token",
    "tok",
    "--header-timeout",
    "1s",
    "--idle-timeout",
    "1s",
    "--body-timeout",
    "1s",
  ]);
  const port = Number(new URL(det.url).port);
  const connect = () => Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await t.step("a request head that never ends", async () => {
      const c = await connect();
      await c.write(encoder.encode("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
      assert.equal(await closedWithin(c, 10_000), "closed");
      c.close();
    });
    await t.step("a kept-alive connection with no next request", async () => {
      const c = await connect();
      await c.write(encoder.encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
      const buf = new Uint8Array(4096);
      const n = await c.read(buf);
      assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1.1 200/);
      assert.equal(await closedWithin(c, 10_000), "closed");
      c.close();
    });
    await t.step("a body that stops arriving", async () => {
      const c = await connect();
      await c.write(encoder.encode(
        "POST /cameras/slow/image HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n" +
          "Content-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n\xff\xd8",
      ));
      assert.equal(await closedWithin(c, 10_000), "closed");
      c.close();
    });
    await t.step("a stream that keeps flowing outlives the idle timeout", async () => {
      const res = await fetch(`${det.url}/stream.mjpg`);
      const reader = res.body!.getReader();
      const until = Date.now() + 3000;
      let bytes = 0;
      while (Date.now() < until) {
        const { value, done } = await reader.read();
        assert.equal(done, false, "the stream was cut");
        bytes += value!.length;
      }
      await reader.cancel();
      assert.ok(bytes > 0);
    });
    const text = await metrics(det.url);
    for (const phase of ["header", "idle", "body"]) {
      assert.ok(
        metricValue(text, "detector_http_connections_timed_out_total", { phase }) > 0,
        `${phase}: ${text}`,
      );
    }
  } finally {
    await det.stop();
  }
});
