/**
 * `deno task pipelines`: builds the example archives into pipelines/ from the generated colour
 * models. The output is deterministic; tests check the committed files match it byte for byte.
 */
import { EXAMPLE_ARCHIVES } from "../src/testmodels/example_archives.ts";

const outDir = new URL("../pipelines/", import.meta.url).pathname;
await Deno.mkdir(outDir, { recursive: true });
for (const ex of EXAMPLE_ARCHIVES) {
  const bytes = ex.build();
  await Deno.writeFile(`${outDir}${ex.file}`, bytes);
  console.log(`pipelines/${ex.file}  ${bytes.length} bytes  ${ex.description}`);
}
