import { buildProgram, USAGE_ERROR } from "./src/cli/program.ts";
import { errorMessage, logger } from "./src/core/log.ts";
import { boundNativeHeap } from "./src/core/native_heap.ts";
import { processEnv } from "./src/config/process_env.ts";
import { limitImageMemory } from "./src/core/image_memory.ts";
import { metrics } from "./src/cli/metrics_registry.ts";
import { collectProcessMemory } from "./src/core/process_metrics.ts";

if (import.meta.main) {
  boundNativeHeap({ keepThreshold: processEnv("MALLOC_MMAP_THRESHOLD_") !== undefined });
  limitImageMemory();
  collectProcessMemory(metrics);
  try {
    await buildProgram().parseAsync(Deno.args, { from: "user" });
  } catch (err) {
    logger("detector").error(errorMessage(err));
    Deno.exit(USAGE_ERROR);
  }
}
