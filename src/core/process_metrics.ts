import type { Metrics } from "./metrics.ts";

/** The process's memory in /metrics: RSS, the JS heap and memory held outside it (buffers). */
export function collectProcessMemory(metrics: Metrics): void {
  metrics.collect(() => {
    const m = Deno.memoryUsage();
    const help = "Memory of the detector process by kind (Deno.memoryUsage)";
    return ([
      ["rss", m.rss],
      ["heap_total", m.heapTotal],
      ["heap_used", m.heapUsed],
      ["external", m.external],
    ] as const).map(([kind, value]) => ({
      name: "detector_process_memory_bytes",
      type: "gauge" as const,
      help,
      value,
      labels: { kind },
    }));
  });
}
