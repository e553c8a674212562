import assert from "node:assert/strict";
import { createHash, scryptSync } from "node:crypto";
import { parseCredentials, PasswordCheck } from "../../src/auth/credentials.ts";
import { FailureLimiter } from "../../src/auth/failure_limiter.ts";
import { oneOfSecrets } from "../../src/auth/secret_compare.ts";

Deno.test("credentials: plain, sha256 and scrypt entries; comments and CRLF", async () => {
  const sha = createHash("sha256").update("b").digest("hex").toUpperCase();
  const scrypted = scryptSync("c:c", "salt", 32, { N: 16384, r: 8, p: 1 }).toString("hex");
  const users = parseCredentials(
    `# comment\r\na:a:a\r\n\r\nb:$sha256$${sha}\nc:$scrypt$salt$${scrypted}\n`,
    "users.txt",
  );
  assert.deepEqual([...users.keys()], ["a", "b", "c"]);
  const check = new PasswordCheck(users);
  assert.equal(await check.verify("a", "a:a"), true);
  assert.equal(await check.verify("a", "a"), false);
  assert.equal(await check.verify("b", "b"), true);
  assert.equal(await check.verify("b", `$sha256$${sha}`), false, "the hash is not the password");
  assert.equal(await check.verify("c", "c:c"), true);
  assert.equal(await check.verify("c", "c:c"), true, "remembered");
  assert.equal(await check.verify("c", "c"), false);
  assert.equal(await check.verify("nobody", "a:a"), false);
});

Deno.test("credentials: errors name the file and line", () => {
  assert.throws(
    () => parseCredentials("a:x\n b \n", "f"),
    /^Error: f line 2: expected user:password$/,
  );
  assert.throws(
    () => parseCredentials("a:$scrypt$x\n", "f"),
    /f line 1: \$scrypt\$ entries look like/,
  );
});

Deno.test("secrets: any of several, every one compared", () => {
  assert.equal(oneOfSecrets("b", ["a", "b", "c"]), true);
  assert.equal(oneOfSecrets("d", ["a", "b", "c"]), false);
  assert.equal(oneOfSecrets("", []), false);
});

Deno.test("failure limiter: locks an address after too many failures, for the window", () => {
  let now = 1000;
  const l = new FailureLimiter({ maxFailures: 3, windowMs: 100, maxAddresses: 2 }, () => now);
  for (let i = 0; i < 3; i++) {
    assert.equal(l.blockedFor("a"), 0);
    l.fail("a");
  }
  assert.equal(l.blockedFor("a"), 100);
  assert.equal(l.blockedFor("b"), 0, "other addresses are not affected");
  now += 60;
  assert.equal(l.blockedFor("a"), 40);
  now += 40;
  assert.equal(l.blockedFor("a"), 0, "the window passed");
  l.fail("a");
  l.succeed("a");
  assert.equal(l.tracked, 0, "a good login forgets the failures");
  l.fail("x");
  l.fail("y");
  l.fail("z");
  assert.equal(l.tracked, 2, "bounded: the oldest address is forgotten");
});
