import { buildProgram, USAGE_ERROR } from "./src/cli/program.ts";
import { errorMessage, logger } from "./src/core/log.ts";

if (import.meta.main) {
  try {
    await buildProgram().parseAsync(Deno.args, { from: "user" });
  } catch (err) {
    logger("detector").error(errorMessage(err));
    Deno.exit(USAGE_ERROR);
  }
}
