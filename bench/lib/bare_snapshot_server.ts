/**
 * The floor for `/snapshot.jpg`: a bare Deno.serve handler answering every request with the same
 * JPEG bytes and a content type, no routing. Usage: bare_snapshot_server.ts FILE
 */
const jpeg = await Deno.readFile(Deno.args[0]);
const headers: [string, string][] = [["content-type", "image/jpeg"]];
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: (addr) => console.log(`listening on http://127.0.0.1:${addr.port}`),
}, () => new Response(jpeg, { headers }));
