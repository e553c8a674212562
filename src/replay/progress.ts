/** A one-line progress bar with frames/s and ETA, drawn on stderr only when it is a terminal. */

export class ProgressBar {
  #last = 0;
  #enabled: boolean;
  #enc = new TextEncoder();

  constructor(readonly total: number | null, enabled = Deno.stderr.isTerminal()) {
    this.#enabled = enabled;
  }

  /** Redraws at most 5 times a second. */
  update(done: number, elapsedS: number, force = false): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (!force && now - this.#last < 200) return;
    this.#last = now;
    Deno.stderr.writeSync(
      this.#enc.encode(`\r${renderProgress(done, this.total, elapsedS)}\x1b[K`),
    );
  }

  finish(): void {
    if (this.#enabled) Deno.stderr.writeSync(this.#enc.encode("\n"));
  }
}

export function renderProgress(done: number, total: number | null, elapsedS: number): string {
  const fps = elapsedS > 0 ? done / elapsedS : 0;
  const rate = `${fps.toFixed(1)} frames/s`;
  if (!total) return `${done} frames  ${rate}`;
  const frac = Math.min(1, done / total);
  const width = 30;
  const fill = Math.round(frac * width);
  const eta = fps > 0 ? Math.max(0, (total - done) / fps) : NaN;
  const etaText = Number.isFinite(eta) ? `ETA ${formatDuration(eta)}` : "ETA --";
  return `[${"#".repeat(fill)}${"-".repeat(width - fill)}] ${
    (frac * 100).toFixed(0).padStart(3)
  }% ${done}/${total}  ${rate}  ${etaText}`;
}

export function formatDuration(s: number): string {
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, "0")}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor(t % 3600 / 60)).padStart(2, "0")}m`;
}
