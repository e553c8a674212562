import assert from "node:assert/strict";
import { HostAllowList } from "../../src/worker/host_allow_list.ts";

Deno.test("allow-list: names, wildcards, ranges, ports; odd spellings fail closed", () => {
  const l = HostAllowList.parse(
    "cam.lan *.cams.lan,10.0.0.0/8,[fd00::]/8,[::1]:8554,h:8080",
    "--x",
  );
  const ok = (url: string) => l.refusedHost(url) === undefined;
  assert.ok(ok("rtsp://cam.lan/a"));
  assert.ok(ok("rtsp://CAM.LAN:9/a"), "case-insensitive, any port");
  assert.ok(ok("rtsp://a.b.cams.lan/x"));
  assert.ok(!ok("rtsp://cams.lan/x"), "the wildcard needs a subdomain");
  assert.ok(ok("rtsp://10.9.8.7/x"));
  assert.ok(!ok("rtsp://11.0.0.1/x"));
  assert.ok(!ok("rtsp://10.1/x"), "shorthand addresses are not parsed as the range");
  assert.ok(!ok("rtsp://0x0a000001/x"));
  assert.ok(ok("rtsp://[fd12::1]/x"));
  assert.ok(ok("rtsp://[::1]:8554/x"));
  assert.ok(!ok("rtsp://[::1]/x"), "default rtsp port 554 is not 8554");
  assert.ok(ok("http://h:8080/m.mpta"));
  assert.ok(!ok("http://h/m.mpta"), "port 80 is not 8080");
  assert.ok(!ok("http://cam.lan.evil.com/x"));
  assert.ok(!ok("udp://@:1234"), "no host");
  assert.ok(ok("testpattern:?fps=1"));
  assert.ok(ok("/models/local.mpta"));
  assert.ok(ok("file:///models/local.mpta"));
  assert.equal(l.refusedHost("rtsp://u:p@192.168.0.1:554/x"), "192.168.0.1:554");
});
