/**
 * Whole-machine CPU and memory figures for `stateReport`: CPU busy share between two readings of
 * /proc/stat, memory used = (MemTotal − MemAvailable) / MemTotal from /proc/meminfo. Off Linux
 * (no /proc) the figures are null.
 */

interface CpuTimes {
  busy: number;
  total: number;
}

export interface SystemFigures {
  cpuUsage: number | null;
  memoryUsage: number | null;
}

/** Parses the aggregate `cpu` line of /proc/stat. */
export function parseCpuTimes(stat: string): CpuTimes | null {
  const line = stat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return null;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  if (v.length < 4 || v.some((n) => !Number.isFinite(n))) return null;
  // user nice system idle iowait irq softirq steal (guest time is already inside user/nice)
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const idleAll = idle + iowait;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idleAll };
}

/** Percentage of memory in use, from /proc/meminfo text. */
export function parseMemoryUsage(meminfo: string): number | null {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(meminfo);
    return m ? Number(m[1]) : undefined;
  };
  const total = kb("MemTotal");
  let available = kb("MemAvailable");
  if (available === undefined) {
    const free = kb("MemFree");
    if (free === undefined) return null;
    available = free + (kb("Buffers") ?? 0) + (kb("Cached") ?? 0);
  }
  if (!total) return null;
  return round1(((total - available) / total) * 100);
}

export function cpuPercent(prev: CpuTimes, cur: CpuTimes): number | null {
  const total = cur.total - prev.total;
  if (total <= 0) return null;
  return round1(Math.min(100, Math.max(0, ((cur.busy - prev.busy) / total) * 100)));
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

/**
 * CPU share over the interval since the previous reading that is at least `minIntervalMs` old,
 * so a `requestState` right after a heartbeat still reports a meaningful figure.
 */
export class SystemStats {
  #prev: { at: number; times: CpuTimes } | undefined;
  #last: number | null = null;

  constructor(private readonly minIntervalMs = 500) {}

  async read(now = performance.now()): Promise<SystemFigures> {
    const [stat, meminfo] = await Promise.all([readText("/proc/stat"), readText("/proc/meminfo")]);
    const times = stat === null ? null : parseCpuTimes(stat);
    if (times) {
      if (!this.#prev) {
        // no interval yet: the average since boot is the best figure there is
        this.#last = cpuPercent({ busy: 0, total: 0 }, times);
        this.#prev = { at: now, times };
      } else if (now - this.#prev.at >= this.minIntervalMs) {
        this.#last = cpuPercent(this.#prev.times, times) ?? this.#last;
        this.#prev = { at: now, times };
      }
    }
    return {
      cpuUsage: this.#last,
      memoryUsage: meminfo === null ? null : parseMemoryUsage(meminfo),
    };
  }
}
