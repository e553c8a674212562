import assert from "node:assert/strict";
import { redactText, redactUrl } from "../../src/core/redact.ts";
import { expandSecretRefs, parseSecretsFile } from "../../src/core/secret_refs.ts";

/** A small seeded generator, so a failure names the seed that reproduces it. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PASSWORD_CHARS = "abcXYZ019@:!$&'()*+,;=-._~%[]^`{|}\"<> ";
const SCHEMES = ["http", "https", "rtsp", "rtsps", "mqtt", "ws", "wss", "redis", "postgres"];
const HOSTS = ["cam.local", "10.0.0.7", "[::1]", "[fe80::1]", "xn--bcher-kva.example", "h"];

Deno.test("redactUrl: examples of every userinfo form", () => {
  const cases: [string, string][] = [
    ["http://admin:p@ss@host/x", "http://admin:***@host/x"],
    ["rtsp://admin:p@ss@10.0.0.1:554/s", "rtsp://admin:***@10.0.0.1:554/s"],
    ["rtsp://u:p@[::1]:554/x", "rtsp://u:***@[::1]:554/x"],
    ["rtsp://u:p%40ss@[fe80::1%25eth0]/x", "rtsp://u:***@[fe80::1%25eth0]/x"],
    ["http://user@host/", "http://user@host/"],
    ["http://:only-pass@host/", "http://:***@host/"],
    ["https://h/x?token=abc&a=1", "https://h/x?token=***&a=1"],
    ["https://h/x?a=1&access_token=abc#f", "https://h/x?a=1&access_token=***#f"],
    ["https://h/x?X-Amz-Signature=abc", "https://h/x?X-Amz-Signature=***"],
    ["http:\\\\u:pw@host\\x", "http:\\\\u:***@host\\x"],
    ["https:u:pw@host/x", "https:u:***@host/x"],
    ["mqtt://u:a:b:c@broker:1883/t/+/s", "mqtt://u:***@broker:1883/t/+/s"],
    ["http://h/users/@me", "http://h/users/@me"],
    ["tcp://127.0.0.1:9000", "tcp://127.0.0.1:9000"],
  ];
  for (const [input, want] of cases) assert.equal(redactUrl(input), want, input);
  assert.equal(
    redactText("ffmpeg -i rtsp://a:b@c/d -f mjpeg; error: http://x:y@z failed"),
    "ffmpeg -i rtsp://a:***@c/d -f mjpeg; error: http://x:***@z failed",
  );
});

Deno.test("redactUrl: property — no generated password survives, the host still parses", () => {
  for (let seed = 1; seed <= 3000; seed++) {
    const r = rng(seed);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const len = 1 + Math.floor(r() * 12);
    let password = "Q7";
    for (let i = 0; i < len; i++) password += pick([...PASSWORD_CHARS]);
    const encoded = r() < 0.5;
    const typed = encoded ? encodeURIComponent(password) : password;
    const user = pick(["admin", "u", "", "a%20b", "viewer.1"]);
    const spec = `${pick(SCHEMES)}://${user}:${typed}@${pick(HOSTS)}${pick(["", ":554", ":8080"])}${
      pick(["", "/", "/stream?ch=1", "/a/b#frag"])
    }`;
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      continue; // not a URL the WHATWG parser accepts
    }
    if (!url.password) continue;
    const shown = redactUrl(spec);
    const inText = redactText(`failed to open "${spec}": timeout`);
    // In free text a URL ends at whitespace or a quote, so only passwords without them count.
    const outs = /[\s"'<>`]/.test(password) ? [shown] : [shown, inText];
    for (const out of outs) {
      assert.ok(!out.includes(url.password), `seed ${seed}: ${spec} -> ${out}`);
      if (password.length > 3) assert.ok(!out.includes(typed), `seed ${seed}: ${spec} -> ${out}`);
    }
    const again = new URL(shown);
    assert.equal(again.hostname, url.hostname, `seed ${seed}: ${spec} -> ${shown}`);
    assert.equal(again.port, url.port);
    assert.equal(again.pathname, url.pathname);
    assert.equal(again.username, url.username);
  }
});

Deno.test("secret references: ${NAME} from a file or the environment, encoded in userinfo", () => {
  const secrets = parseSecretsFile("# cameras\nCAM_PASS=p@ss/w:rd\nHOST='cam.local'\n", "f");
  const env = (n: string) => n === "MQTT_PASS" ? "m&q" : undefined;
  assert.equal(
    expandSecretRefs("rtsp://admin:${CAM_PASS}@${HOST}/s", "--source a", secrets, env),
    "rtsp://admin:p%40ss%2Fw%3Ard@cam.local/s",
  );
  const url = new URL(expandSecretRefs("mqtt://u:${MQTT_PASS}@b/t/+/s", "--mqtt", secrets, env));
  assert.equal(decodeURIComponent(url.password), "m&q");
  assert.throws(
    () => expandSecretRefs("rtsp://a:${NOPE}@h/", "--source a", secrets, env),
    /--source a refers to \$\{NOPE\}/,
  );
  assert.throws(() => parseSecretsFile("no equals sign", "creds.env"), /creds.env:1/);
});
