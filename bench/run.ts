/**
 * `deno task bench`: runs every `bench/*_bench.ts` (or the ones named on the command line) as its
 * own process, one after another so they do not share the two cores, and prints their reports.
 */
const dir = new URL(".", import.meta.url).pathname;
const only = Deno.args;
const files = [...Deno.readDirSync(dir)]
  .map((e) => e.name)
  .filter((n) => n.endsWith("_bench.ts"))
  .filter((n) => only.length === 0 || only.some((o) => n.includes(o)))
  .sort();

let failed = 0;
for (const file of files) {
  console.log(`\n## ${file.replace(/_bench\.ts$/, "")}\n`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${dir}${file}`],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) {
    failed++;
    console.log(`(${file} failed with exit code ${status.code})`);
  }
}
Deno.exit(failed ? 1 : 0);
