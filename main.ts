import { buildProgram, USAGE_ERROR } from "./src/cli/program.ts";
import { errorMessage, logger } from "./src/core/log.ts";
import { trimNativeHeap } from "./src/core/native_heap.ts";
import { limitImageMemory } from "./src/core/image_memory.ts";
import { metrics } from "./src/cli/metrics_registry.ts";
import { collectProcessMemory } from "./src/core/process_metrics.ts";
import { surviveStrayRejections } from "./src/core/stray_rejections.ts";

if (import.meta.main) {
  trimNativeHeap();
  limitImageMemory();
  collectProcessMemory(metrics);
  surviveStrayRejections(metrics);
  try {
    await buildProgram().parseAsync(Deno.args, { from: "user" });
  } catch (err) {
    logger("detector").error(errorMessage(err));
    Deno.exit(USAGE_ERROR);
  }
}
