/**
 * Floods `/push` from its own process (so the test's HTTP probes are not delayed by the sender):
 * `deno run -A push_flood.ts WS_URL CAMERA_ID TOKEN JPEG_FILE RATE SECONDS` sends the JPEG as one
 * binary message RATE times per second after the handshake, then prints `sent N` and closes.
 */
const [url, id, token, file, rate, seconds] = Deno.args;
const tiny = await Deno.readFile(file);
const ws = new WebSocket(url);
ws.binaryType = "arraybuffer";
await new Promise((r, j) => {
  ws.onopen = r;
  ws.onerror = () => j(new Error("connect failed"));
});
const tok = new TextEncoder().encode(token);
const hello = new Uint8Array(8 + tok.byteLength);
const view = new DataView(hello.buffer);
view.setUint32(0, Number(id), true);
view.setUint32(4, tok.byteLength, true);
hello.set(tok, 8);
ws.send(hello);
const perSecond = Number(rate);
const start = performance.now();
let sent = 0;
while (performance.now() - start < Number(seconds) * 1000) {
  const due = Math.floor((performance.now() - start) / 1000 * perSecond);
  while (sent < due) {
    ws.send(tiny);
    sent++;
  }
  await new Promise((r) => setTimeout(r, 5));
}
const took = (performance.now() - start) / 1000;
console.log(`sent ${sent} in ${took.toFixed(2)} s`);
while (ws.bufferedAmount > 0) await new Promise((r) => setTimeout(r, 10));
ws.close(1000, "done");
await new Promise((r) => ws.onclose = r);
