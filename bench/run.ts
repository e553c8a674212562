/**
 * `deno task bench`: runs every `bench/*_bench.ts` (or the ones named on the command line) as its
 * own process, one after another so they do not share the two cores, and prints their reports.
 * `--name value` options are handed to each bench run (`deno task bench worker --cameras 1,8`).
 */
const dir = new URL(".", import.meta.url).pathname;
const only: string[] = [];
const passed: string[] = [];
for (let i = 0; i < Deno.args.length; i++) {
  const a = Deno.args[i];
  if (!a.startsWith("--")) {
    only.push(a);
  } else if (a.includes("=") || i + 1 >= Deno.args.length || Deno.args[i + 1].startsWith("--")) {
    passed.push(a);
  } else {
    passed.push(a, Deno.args[++i]);
  }
}
const files = [...Deno.readDirSync(dir)]
  .map((e) => e.name)
  .filter((n) => n.endsWith("_bench.ts"))
  .filter((n) => only.length === 0 || only.some((o) => n.includes(o)))
  .sort();

let failed = 0;
for (const file of files) {
  console.log(`\n## ${file.replace(/_bench\.ts$/, "")}\n`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${dir}${file}`, ...passed],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) {
    failed++;
    console.log(`(${file} failed with exit code ${status.code})`);
  }
}
Deno.exit(failed ? 1 : 0);
