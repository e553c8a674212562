import assert from "node:assert/strict";

const src = new URL("../../src/core/", import.meta.url).href;

Deno.test("stray rejections: the process goes on; each is counted, logged with its stack (redacted, at most 5 a minute per message)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/stray.ts`;
    await Deno.writeTextFile(
      script,
      `import { Metrics } from "${src}metrics.ts";
import { surviveStrayRejections } from "${src}stray_rejections.ts";
const metrics = new Metrics();
surviveStrayRejections(metrics);
for (let i = 0; i < 8; i++) Promise.reject(new Error("lost postgres://writer:hunter2@db.example/detector"));
Promise.reject("a plain string");
await new Promise((r) => setTimeout(r, 200));
console.log(metrics.get("detector_unhandled_rejections_total"));
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--allow-read", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trim();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(stdout, "9", "every rejection counted");
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 6, `5 lines for the repeated error, 1 for the string:\n${stderr}`);
    for (const l of lines) assert.match(l, /ERROR process: a promise rejected with nobody/);
    assert.equal(lines.filter((l) => /stack="Error: lost/.test(l)).length, 5, stderr);
    assert.ok(!stderr.includes("hunter2"), `the password is redacted:\n${stderr}`);
    assert.match(lines[5], /error="a plain string"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
