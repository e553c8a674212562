import assert from "node:assert/strict";
import { parseRequestHead, requestUrl } from "../../src/http/request_head.ts";

const head = (text: string) => parseRequestHead(new TextEncoder().encode(text));

Deno.test("request head: a plain GET keeps the connection and has no body", () => {
  const h = head("GET /snapshot.jpg?x=1 HTTP/1.1\r\nHost: cam:8080\r\nAccept: */*\r\n\r\n");
  assert.ok(h);
  assert.equal(h.method, "GET");
  assert.equal(h.target, "/snapshot.jpg?x=1");
  assert.deepEqual(h.headers, [["host", "cam:8080"], ["accept", "*/*"]]);
  assert.equal(h.keepAlive, true);
  assert.equal(h.hasBody, false);
  assert.equal(h.upgrade, false);
  assert.equal(requestUrl(h, "127.0.0.1"), "http://cam:8080/snapshot.jpg?x=1");
});

Deno.test("request head: bodies, upgrades and connection tokens are noticed", () => {
  assert.equal(head("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")?.hasBody, true);
  assert.equal(head("GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")?.hasBody, false);
  assert.equal(
    head("GET /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")?.hasBody,
    true,
  );
  assert.equal(
    head("GET /push HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
      ?.upgrade,
    true,
  );
  assert.equal(head("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")?.keepAlive, false);
  assert.equal(head("GET /x HTTP/1.0\r\n\r\n")?.keepAlive, false);
  assert.equal(head("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")?.keepAlive, true);
});

Deno.test("request head: what the door cannot read plainly is left to the full server", () => {
  for (
    const text of [
      "GET /x HTTP/1.1\r\n\r\n", // no Host
      "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", // two
      "GET /x HTTP/2.0\r\nHost: a\r\n\r\n",
      "GET  /x HTTP/1.1\r\nHost: a\r\n\r\n",
      "G@T /x HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /x HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n",
      "GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n",
      "GET /x HTTP/1.1\r\nHost: a\r\nBad Name: 1\r\n\r\n",
    ]
  ) assert.equal(head(text), undefined, JSON.stringify(text));
});
