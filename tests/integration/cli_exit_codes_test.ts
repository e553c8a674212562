/** Usage errors exit 2 in every subcommand; --help and --version exit 0. */
import assert from "node:assert/strict";
import { runDetector } from "../harness/detector.ts";

async function exitOf(args: string[]): Promise<{ code: number; output: string }> {
  const child = runDetector(args);
  const timer = setTimeout(() => child.stop(), 60_000);
  const status = await child.status;
  clearTimeout(timer);
  return { code: status.code, output: child.output() };
}

Deno.test("an unknown option or a missing argument exits 2 in every subcommand", async () => {
  const cases = [
    ["serve", "--no-such-flag"],
    ["run", "--no-such-flag"],
    ["replay", "clip.mp4"], // --mpta missing
    ["detect", "--no-such-flag"],
    ["probe"], // SPEC missing
    ["mpta", "validate"], // FILE missing
    ["mpta", "pack", "dir"], // -o missing
    ["prusa", "upload", "--no-such-flag"],
    ["token"], // ID missing
    ["no-such-command"],
  ];
  for (const args of cases) {
    const r = await exitOf(args);
    assert.equal(r.code, 2, `${args.join(" ")}:\n${r.output}`);
    assert.match(r.output, /error: /, `${args.join(" ")} says what is wrong`);
  }
});

Deno.test("--help and --version exit 0", async () => {
  for (const args of [["--help"], ["-V"], ["probe", "--help"], ["mpta", "pack", "--help"]]) {
    const r = await exitOf(args);
    assert.equal(r.code, 0, `${args.join(" ")}:\n${r.output}`);
  }
});
