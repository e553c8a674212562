/**
 * Child process of the fan-out benchmark: N MJPEG clients on raw sockets, so that their CPU is not
 * counted as the server's. Usage: fanout_clients.ts URL N WINDOW_START_MS WINDOW_END_MS
 * (wall-clock ms). Prints one JSON line: parts and write→read delays inside the window.
 */
import { MultipartParser } from "./mjpeg_parser.ts";
import { nowMs, readStamp, STAMP_BYTES } from "./bench_frame.ts";
import { RawHttpStream } from "./stream_clients.ts";

export interface ClientsReport {
  clients: number;
  connected: number;
  /** Parts received inside the window, all clients together. */
  parts: number;
  /** Per-client part counts inside the window. */
  perClient: number[];
  /** write→read delay (ms) of every part inside the window that carried a stamp. */
  delays: number[];
  /** write→cache delay (ms): the server's X-Frame-Time (ms, wall clock) minus the stamp. */
  ingestDelays: number[];
  errors: string[];
}

if (import.meta.main) {
  const [url, nText, startText, endText] = Deno.args;
  const n = Number(nText);
  const start = Number(startText);
  const end = Number(endText);
  const report: ClientsReport = {
    clients: n,
    connected: 0,
    parts: 0,
    perClient: [],
    delays: [],
    ingestDelays: [],
    errors: [],
  };
  const one = async (i: number) => {
    let count = 0;
    const stream = await RawHttpStream.open(url);
    try {
      const head = await stream.readHead();
      if (head.status !== 200) throw new Error(`HTTP ${head.status}`);
      report.connected++;
      const parser = new MultipartParser((part) => {
        const at = nowMs();
        if (at < start || at > end) return;
        count++;
        const stamp = readStamp(part.body);
        if (!stamp) return;
        report.delays.push(at - stamp.at);
        const put = Number(part.headers["x-frame-time"]);
        if (Number.isFinite(put)) report.ingestDelays.push(put - stamp.at);
      }, { keepBody: false, headBytes: STAMP_BYTES });
      await stream.pump((b) => parser.push(b), () => nowMs() > end);
    } catch (err) {
      report.errors.push(`client ${i}: ${err instanceof Error ? err.message : err}`);
    } finally {
      stream.close();
      report.perClient[i] = count;
    }
  };
  // Connections are opened a few at a time so that the server's accept queue never overflows.
  const running: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    running.push(one(i));
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(running);
  report.parts = report.perClient.reduce((a, b) => a + b, 0);
  console.log(JSON.stringify(report));
}
