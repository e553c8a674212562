import assert from "node:assert/strict";
import {
  basicAuthorization,
  digestResponse,
  DigestSession,
  parseChallenges,
  pickDigestChallenge,
} from "../../src/sources/digest_auth.ts";
import { AuthFetcher, splitCredentials } from "../../src/sources/http_auth.ts";
import { startCameraServer } from "../harness/digest_server.ts";
import { solidJpeg } from "../harness/jpeg_fixtures.ts";

const rfc7616 = {
  username: "Mufasa",
  password: "Circle of Life",
  realm: "http-auth@example.org",
  nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
  method: "GET",
  uri: "/dir/index.html",
  qop: "auth" as const,
  nc: "00000001",
  cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
};

Deno.test("digest responses match the RFC 7616 and RFC 2617 examples", () => {
  assert.equal(
    digestResponse({ ...rfc7616, algorithm: "MD5" }),
    "8ca523f5e9506fed4657c9700eebdbec",
  );
  assert.equal(
    digestResponse({ ...rfc7616, algorithm: "SHA-256" }),
    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
  );
  assert.equal(
    digestResponse({
      algorithm: "MD5",
      username: "Mufasa",
      password: "Circle Of Life",
      realm: "testrealm@host.com",
      nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      method: "GET",
      uri: "/dir/index.html",
      qop: "auth",
      nc: "00000001",
      cnonce: "0a4f113b",
    }),
    "6629fae49393a05397450978507c4ef1",
  );
});

Deno.test("WWW-Authenticate with several challenges is parsed; SHA-256 is preferred", () => {
  const header = 'Digest realm="http-auth@example.org", qop="auth, auth-int", ' +
    'algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ' +
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", Digest realm="http-auth@example.org", ' +
    'qop="auth", algorithm=MD5, nonce="abc", Basic realm="a \\"quoted\\" realm", charset="UTF-8"';
  const challenges = parseChallenges(header);
  assert.deepEqual(challenges.map((c) => c.scheme), ["digest", "digest", "basic"]);
  assert.equal(challenges[0].params.qop, "auth, auth-int");
  assert.equal(challenges[2].params.realm, 'a "quoted" realm');
  assert.equal(challenges[2].params.charset, "UTF-8");
  assert.equal(pickDigestChallenge(challenges)?.params.algorithm, "SHA-256");
  assert.equal(
    pickDigestChallenge(parseChallenges('Digest realm="x", qop="auth-int", nonce="n"')),
    undefined,
  );
});

Deno.test("a digest session answers the RFC 7616 challenge and counts nonces", () => {
  const [challenge] = parseChallenges(
    `Digest realm="${rfc7616.realm}", qop="auth", algorithm=MD5, nonce="${rfc7616.nonce}", ` +
      'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
  );
  const s = new DigestSession(challenge, rfc7616.username, rfc7616.password);
  const first = s.authorization("GET", rfc7616.uri, rfc7616.cnonce);
  assert.match(first, /^Digest /);
  assert.match(first, /response="8ca523f5e9506fed4657c9700eebdbec"/);
  assert.match(first, /nc=00000001/);
  assert.match(first, /qop=auth/);
  assert.match(first, /opaque="FQhe\/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"/);
  assert.doesNotMatch(first, /Circle of Life/);
  assert.match(s.authorization("GET", rfc7616.uri), /nc=00000002/);
  assert.equal(basicAuthorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
});

Deno.test("URL credentials are split off and percent-decoded", () => {
  const { url, credentials } = splitCredentials(
    new URL("http://us%40er:p%3Ass@cam:8080/snap.jpg?a=1"),
  );
  assert.equal(url.href, "http://cam:8080/snap.jpg?a=1");
  assert.deepEqual(credentials, { username: "us@er", password: "p:ss" });
  assert.equal(splitCredentials(new URL("http://cam/x")).credentials, undefined);
});

async function curl(args: string[]): Promise<string> {
  const out = await new Deno.Command("curl", {
    args: ["-s", "-o", "/dev/null", "-w", "%{http_code}", ...args],
  }).output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test("the test camera's Digest and Basic checks agree with curl (an independent client)", async () => {
  const jpeg = await solidJpeg(16, 16);
  for (const algorithm of ["MD5", "SHA-256"] as const) {
    const cam = startCameraServer({ auth: "digest", algorithm, jpeg: () => jpeg });
    try {
      const url = `${cam.origin}/snap.jpg?ch=1`;
      assert.equal(await curl(["--digest", "-u", "admin:s3cret", url]), "200", algorithm);
      assert.equal(await curl(["--digest", "-u", "admin:wrong", url]), "401", algorithm);
      assert.equal(await curl([url]), "401", algorithm);
    } finally {
      await cam.close();
    }
  }
  const basic = startCameraServer({ auth: "basic", jpeg: () => jpeg });
  try {
    assert.equal(await curl(["--basic", "-u", "admin:s3cret", `${basic.origin}/a.jpg`]), "200");
    assert.equal(await curl(["--basic", "-u", "admin:nope", `${basic.origin}/a.jpg`]), "401");
  } finally {
    await basic.close();
  }
});

Deno.test("AuthFetcher: Digest (MD5, SHA-256) and Basic, then one request per poll", async () => {
  const jpeg = await solidJpeg(16, 16);
  for (const auth of ["digest", "basic"] as const) {
    for (const algorithm of ["MD5", "SHA-256"] as const) {
      const cam = startCameraServer({ auth, algorithm, jpeg: () => jpeg });
      try {
        const f = new AuthFetcher(new URL(`http://admin:s3cret@127.0.0.1:${cam.port}/snap.jpg`));
        for (let i = 0; i < 3; i++) {
          const res = await f.fetch(AbortSignal.timeout(5000));
          assert.equal(res.status, 200, `${auth} ${algorithm} poll ${i}`);
          await res.body?.cancel();
        }
        assert.equal(f.scheme, auth);
        assert.equal(cam.stats.requests, 4, "one challenge, then one request per poll");
        assert.ok(cam.authorizations.every((a) => !a.includes("s3cret")));
        const wrong = new AuthFetcher(new URL(`http://admin:bad@127.0.0.1:${cam.port}/snap.jpg`));
        const res = await wrong.fetch(AbortSignal.timeout(5000));
        await res.body?.cancel();
        assert.equal(res.status, 401);
        assert.equal(wrong.authNote, "credentials rejected");
      } finally {
        await cam.close();
      }
    }
  }
});
