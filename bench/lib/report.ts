/** Small helpers for benchmark reports: percentiles and markdown tables. */

/** The p-th percentile (0-100) by nearest rank; NaN for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1));
  return sorted[rank];
}

export function fixed(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "–";
}

/** A markdown table with a header row. */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** One line about the machine, printed above each table. */
export function machineLine(): string {
  let cpu = "";
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? "";
  } catch { /* not Linux */ }
  return `${navigator.hardwareConcurrency} cores${
    cpu ? ` (${cpu})` : ""
  }, Deno ${Deno.version.deno}, load ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}`;
}
