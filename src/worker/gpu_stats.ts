/**
 * GPU figures for `stateReport`: only when a GPU execution provider is active (otherwise null,
 * as docs/protocol.md says), read from `nvidia-smi` with a short timeout.
 */
export interface GpuFigures {
  gpuUsage: number | null;
  gpuMemoryUsage: number | null;
}

const none: GpuFigures = { gpuUsage: null, gpuMemoryUsage: null };

/** Parses `utilization.gpu, memory.used, memory.total` CSV lines (no units); first GPU wins. */
export function parseNvidiaSmi(text: string): GpuFigures {
  const line = text.split("\n").find((l) => l.trim() !== "");
  if (!line) return none;
  const [util, used, total] = line.split(",").map((s) => Number(s.trim()));
  if (![util, used, total].every(Number.isFinite) || total <= 0) return none;
  return { gpuUsage: util, gpuMemoryUsage: Math.round((used / total) * 1000) / 10 };
}

export async function readGpuFigures(active: boolean, timeoutMs = 1000): Promise<GpuFigures> {
  if (!active) return none;
  try {
    const out = await new Deno.Command("nvidia-smi", {
      args: [
        "--query-gpu=utilization.gpu,memory.used,memory.total",
        "--format=csv,noheader,nounits",
      ],
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    return out.success ? parseNvidiaSmi(new TextDecoder().decode(out.stdout)) : none;
  } catch {
    return none;
  }
}
