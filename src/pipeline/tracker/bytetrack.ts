/**
 * ByteTrack-style multi-object tracker: Kalman-predicted tracks are matched to high-score
 * detections by IoU, then the remaining tracks to low-score detections (which rescues occluded or
 * blurred objects), unmatched high-score detections start tracks (confirmed on their second
 * frame), and lost tracks are kept for `trackBuffer` frames before they are forgotten.
 * Detections are only matched to tracks of the same class.
 */
import { linearAssignment } from "./assignment.ts";
import { type Box, iou } from "./iou.ts";
import { boxToXyah, initiate, type KalmanState, predict, update, xyahToBox } from "./kalman.ts";

export interface TrackerOptions {
  /** Detections at or above this score are "high" (first association, may start tracks). */
  highThresh: number;
  /** Detections below this score are ignored; between low and high they only extend tracks. */
  lowThresh: number;
  /** Least score of a detection that starts a new track (default highThresh). */
  newTrackThresh?: number;
  /** Frames a lost track is kept (default 30). */
  trackBuffer?: number;
  /** Least IoU for the first association (default 0.2, ByteTrack's match_thresh 0.8 as cost). */
  matchIou?: number;
}

export interface TrackerDetection {
  box: Box;
  confidence: number;
  class: string;
}

type State = "tracked" | "lost" | "removed";

export interface Track {
  id: number;
  class: string;
  state: State;
  confirmed: boolean;
  /** Kalman estimate of the current box. */
  box: Box;
  confidence: number;
  kalman: KalmanState;
  startFrame: number;
  lastFrame: number;
  hits: number;
}

export class ByteTracker {
  #opts: Required<TrackerOptions>;
  #tracks: Track[] = [];
  #frame = 0;
  #nextId = 1;

  constructor(opts: TrackerOptions) {
    this.#opts = {
      newTrackThresh: opts.highThresh,
      trackBuffer: 30,
      matchIou: 0.2,
      ...opts,
    };
  }

  get frame(): number {
    return this.#frame;
  }

  /** Tracks currently seen or lost but not yet forgotten. */
  tracks(): readonly Track[] {
    return this.#tracks;
  }

  /**
   * Advances one frame. Returns, for each input detection, the id of the confirmed track it
   * belongs to, or undefined (ignored, or the first frame of a new track).
   */
  update(dets: TrackerDetection[]): (number | undefined)[] {
    const o = this.#opts;
    this.#frame++;
    const out: (number | undefined)[] = new Array(dets.length).fill(undefined);
    const high = dets.map((_, i) => i).filter((i) => dets[i].confidence >= o.highThresh);
    const low = dets.map((_, i) => i).filter((i) =>
      dets[i].confidence >= o.lowThresh && dets[i].confidence < o.highThresh
    );

    for (const t of this.#tracks) {
      t.kalman = predict(t.kalman);
      t.box = xyahToBox(t.kalman.mean);
    }
    const confirmed = this.#tracks.filter((t) => t.confirmed);
    const unconfirmed = this.#tracks.filter((t) => !t.confirmed);

    // 1. confirmed tracks (seen or lost) ↔ high detections
    const first = this.#match(confirmed, high, dets, 1 - o.matchIou);
    for (const [t, i] of first.matches) this.#extend(t, dets[i], out, i);

    // 2. still-unmatched tracks that were seen last frame ↔ low detections
    const remaining = first.tracks.filter((t) => t.state === "tracked");
    const second = this.#match(remaining, low, dets, 0.5);
    for (const [t, i] of second.matches) this.#extend(t, dets[i], out, i);
    for (const t of second.tracks) t.state = "lost";

    // 3. unconfirmed tracks ↔ remaining high detections; unmatched ones are dropped
    const third = this.#match(unconfirmed, first.dets, dets, 0.7);
    for (const [t, i] of third.matches) {
      t.confirmed = true;
      this.#extend(t, dets[i], out, i);
    }

    // 3b. low frame rates: a box that moved by less than its size since the last frame does
    // not overlap enough for IoU; match what is left by centre distance instead.
    const near = this.#matchByDistance([...second.tracks, ...third.tracks], third.dets, dets);
    for (const [t, i] of near.matches) {
      t.confirmed = true;
      this.#extend(t, dets[i], out, i);
    }

    // 4. new tracks from confident leftovers; confirmed at once on the very first frame
    for (const i of near.dets) {
      const d = dets[i];
      if (d.confidence < o.newTrackThresh) continue;
      const kalman = initiate(boxToXyah(d.box));
      const t: Track = {
        id: this.#nextId++,
        class: d.class,
        state: "tracked",
        confirmed: this.#frame === 1,
        box: [...d.box],
        confidence: d.confidence,
        kalman,
        startFrame: this.#frame,
        lastFrame: this.#frame,
        hits: 1,
      };
      this.#tracks.push(t);
      if (t.confirmed) out[i] = t.id;
    }

    for (const t of this.#tracks) {
      if (!t.confirmed && t.lastFrame < this.#frame) t.state = "removed";
      if (t.state === "lost" && this.#frame - t.lastFrame > o.trackBuffer) t.state = "removed";
    }
    this.#tracks = this.#tracks.filter((t) => t.state !== "removed");
    return out;
  }

  #extend(t: Track, d: TrackerDetection, out: (number | undefined)[], i: number): void {
    t.kalman = update(t.kalman, boxToXyah(d.box));
    t.box = [...d.box];
    t.confidence = d.confidence;
    t.state = "tracked";
    t.lastFrame = this.#frame;
    t.hits++;
    if (t.confirmed) out[i] = t.id;
  }

  /**
   * Same-class pairs whose centres are closer than the larger box side and whose sizes differ by
   * less than 4× in area.
   */
  #matchByDistance(tracks: Track[], detIdx: number[], dets: TrackerDetection[]) {
    return this.#assign(tracks, detIdx, dets, 1, (t, d) => {
      const [tw, th] = [t.box[2] - t.box[0], t.box[3] - t.box[1]];
      const [dw, dh] = [d.box[2] - d.box[0], d.box[3] - d.box[1]];
      const ratio = (tw * th) / Math.max(1e-6, dw * dh);
      if (ratio > 4 || ratio < 0.25) return Infinity;
      const dist = Math.hypot(
        (t.box[0] + t.box[2] - d.box[0] - d.box[2]) / 2,
        (t.box[1] + t.box[3] - d.box[1] - d.box[3]) / 2,
      );
      return dist / Math.max(tw, th, dw, dh);
    });
  }

  #match(tracks: Track[], detIdx: number[], dets: TrackerDetection[], maxCost: number) {
    return this.#assign(tracks, detIdx, dets, maxCost, (t, d) => 1 - iou(t.box, d.box));
  }

  /**
   * Minimum-cost matching per class. Rows and columns without any allowed pair are left out of
   * the assignment problem, which keeps it small however many tracks and detections there are.
   */
  #assign(
    tracks: Track[],
    detIdx: number[],
    dets: TrackerDetection[],
    maxCost: number,
    costOf: (t: Track, d: TrackerDetection) => number,
  ): { matches: [Track, number][]; tracks: Track[]; dets: number[] } {
    const byClass = new Map<string, { tracks: Track[]; dets: number[] }>();
    const group = (c: string) => {
      let g = byClass.get(c);
      if (!g) byClass.set(c, g = { tracks: [], dets: [] });
      return g;
    };
    for (const t of tracks) group(t.class).tracks.push(t);
    for (const i of detIdx) group(dets[i].class).dets.push(i);
    const matched = new Set<Track>();
    const usedDets = new Set<number>();
    const matches: [Track, number][] = [];
    for (const g of byClass.values()) {
      if (!g.tracks.length || !g.dets.length) continue;
      const full = g.tracks.map((t) => g.dets.map((i) => costOf(t, dets[i])));
      const rows = g.tracks.map((_, r) => r).filter((r) => full[r].some((c) => c <= maxCost));
      const cols = g.dets.map((_, c) => c).filter((c) => rows.some((r) => full[r][c] <= maxCost));
      if (!rows.length) continue;
      const cost = rows.map((r) => cols.map((c) => full[r][c]));
      for (const [r, c] of linearAssignment(cost, maxCost, cols.length).matches) {
        const t = g.tracks[rows[r]], i = g.dets[cols[c]];
        matches.push([t, i]);
        matched.add(t);
        usedDets.add(i);
      }
    }
    return {
      matches,
      tracks: tracks.filter((t) => !matched.has(t)),
      dets: detIdx.filter((i) => !usedDets.has(i)),
    };
  }
}
