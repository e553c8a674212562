/** Replay statistics: per-stage timings (p50/p95), per-class counts, sessions; the summary text. */

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export interface ReplaySummary {
  frames: number;
  processed: number;
  seconds: number;
  fps: number;
  sessions: number;
  events: number;
  classes: Record<string, number>;
  stages: Record<string, { p50: number; p95: number }>;
  errors: number;
}

export class ReplayStats {
  #stages = new Map<string, number[]>();
  #classes = new Map<string, number>();
  #sessions = new Set<string>();
  processed = 0;
  events = 0;
  errors = 0;
  lastFrameIndex = -1;
  /** Frames in the video, when known. */
  videoFrames: number | null = null;
  #started = performance.now();

  addTiming(stage: string, ms: number): void {
    let list = this.#stages.get(stage);
    if (!list) this.#stages.set(stage, list = []);
    list.push(ms);
  }

  addDetection(cls: string): void {
    this.#classes.set(cls, (this.#classes.get(cls) ?? 0) + 1);
  }

  addSession(id: string | null | undefined): void {
    if (id) this.#sessions.add(id);
  }

  elapsedS(): number {
    return (performance.now() - this.#started) / 1000;
  }

  summary(eventsAreSessions: boolean): ReplaySummary {
    const seconds = this.elapsedS();
    const stages: ReplaySummary["stages"] = {};
    for (const [name, list] of this.#stages) {
      const sorted = [...list].sort((a, b) => a - b);
      stages[name] = { p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
    }
    return {
      frames: Math.max(this.videoFrames ?? 0, this.lastFrameIndex + 1),
      processed: this.processed,
      seconds,
      fps: seconds > 0 ? this.processed / seconds : 0,
      // Without session ids (no PostgreSQL), each event is one vehicle's session.
      sessions: eventsAreSessions ? this.events : this.#sessions.size,
      events: this.events,
      classes: Object.fromEntries([...this.#classes].sort((a, b) => a[0].localeCompare(b[0]))),
      stages,
      errors: this.errors,
    };
  }
}

export function formatSummary(s: ReplaySummary): string {
  const lines = [
    "replay summary",
    `  frames     ${s.processed} processed of ${s.frames} in ${s.seconds.toFixed(1)} s (${
      s.fps.toFixed(1)
    } frames/s)`,
    `  sessions   ${s.sessions}`,
    `  events     ${s.events}`,
    `  detections ${
      Object.entries(s.classes).map(([c, n]) => `${c} ${n}`).join(", ") || "none"
    } (frames with the class)`,
  ];
  if (s.errors) lines.push(`  errors     ${s.errors} frames failed`);
  lines.push("  stage ms        p50      p95");
  for (const [name, v] of Object.entries(s.stages)) {
    lines.push(
      `  ${name.padEnd(12)} ${v.p50.toFixed(1).padStart(7)} ${v.p95.toFixed(1).padStart(8)}`,
    );
  }
  return lines.join("\n");
}
