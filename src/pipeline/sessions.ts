/**
 * When a frame becomes an event, and which session it belongs to, per camera (docs/mpta.md "Sessions").
 *
 * "bytetrack": detections are tracked; the vehicle (the track of the anchor region) gets one
 * event, on the first frame where the event is complete, and keeps its session id while it is
 * seen. A vehicle lost for less than the cooldown whose new track starts near where it was lost
 * continues its session.
 * "per-frame": the original worker — every complete frame is an event with a new session,
 * at most one per `cooldownMs`.
 */
import { ByteTracker } from "./tracker/bytetrack.ts";
import type { Box } from "./tracker/iou.ts";
import type { TrackedDetection } from "./types.ts";

/** What `--tracking` may say. */
export const TRACKING_MODES = ["bytetrack", "per-frame"] as const;
export type TrackingMode = (typeof TRACKING_MODES)[number];

export interface SessionDecision {
  /** Run the event's actions now. */
  fire: boolean;
  /** Session of the vehicle (or of this event in per-frame mode), when sessions are on. */
  sessionId: string | null;
}

interface Vehicle {
  trackId: number;
  /** Frames on which the event was complete but the vehicle was cut by the frame border. */
  waited: number;
  class: string;
  fired: boolean;
  sessionId: string | null;
  lastSeen: number;
  lastBox: Box;
}

export interface CameraSessionsOptions {
  mode: TrackingMode;
  cooldownMs: number;
  /** Sessions (session ids and rows) are on: postgresql configured and a multiClass root. */
  sessionsEnabled: boolean;
  /** Root minConfidence: the tracker's high threshold. */
  highThresh: number;
  lowThresh: number;
  trackBuffer?: number;
}

/** Complete frames a vehicle cut by the border waits for a better one before its event. */
export const MAX_WAIT_FRAMES = 5;

function centre(b: Box): [number, number] {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

export class CameraSessions {
  readonly tracker: ByteTracker | null;
  #vehicles = new Map<number, Vehicle>();
  #lastEventAt = -Infinity;
  #sessions = 0;

  constructor(readonly opts: CameraSessionsOptions) {
    this.tracker = opts.mode === "bytetrack"
      ? new ByteTracker({
        highThresh: opts.highThresh,
        lowThresh: opts.lowThresh,
        trackBuffer: opts.trackBuffer,
      })
      : null;
  }

  /** Sessions (events) started on this camera. */
  get sessions(): number {
    return this.#sessions;
  }

  #newSession(): string | null {
    this.#sessions++;
    return this.opts.sessionsEnabled ? crypto.randomUUID() : null;
  }

  /**
   * Decides for one frame. `anchor` is the region that stands for the vehicle (with its track
   * id in bytetrack mode); `ready` says whether the event would be complete on this frame;
   * `whole` whether no region touches the frame border. A vehicle's event waits (up to
   * MAX_WAIT_FRAMES complete frames) for a frame where it is whole, so that its images and
   * classifications are not made from a sliver entering the picture.
   */
  decide(
    anchor: TrackedDetection | null,
    at: number,
    ready: boolean,
    whole = true,
  ): SessionDecision {
    if (this.opts.mode === "per-frame") {
      if (!ready || at - this.#lastEventAt < this.opts.cooldownMs) {
        return { fire: false, sessionId: null };
      }
      this.#lastEventAt = at;
      return { fire: true, sessionId: this.#newSession() };
    }
    this.#prune(at);
    if (!anchor || anchor.trackId === undefined) return { fire: false, sessionId: null };
    let v = this.#vehicles.get(anchor.trackId) ?? this.#reattach(anchor, at);
    if (!v) {
      v = {
        trackId: anchor.trackId,
        waited: 0,
        class: anchor.class,
        fired: false,
        sessionId: null,
        lastSeen: at,
        lastBox: anchor.box,
      };
      this.#vehicles.set(anchor.trackId, v);
    }
    v.lastSeen = at;
    v.lastBox = anchor.box;
    if (!v.fired && ready && !whole && v.waited < MAX_WAIT_FRAMES) v.waited++;
    else if (!v.fired && ready) {
      v.fired = true;
      v.sessionId = this.#newSession();
      this.#lastEventAt = at;
      return { fire: true, sessionId: v.sessionId };
    }
    return { fire: false, sessionId: v.sessionId };
  }

  /** A recently lost vehicle whose new track starts where it was last seen. */
  #reattach(anchor: TrackedDetection, at: number): Vehicle | undefined {
    const live = new Set(
      this.tracker?.tracks().filter((t) => t.state === "tracked").map((t) => t.id) ?? [],
    );
    const [cx, cy] = centre(anchor.box);
    for (const [id, v] of this.#vehicles) {
      if (live.has(id) || v.class !== anchor.class || at - v.lastSeen > this.opts.cooldownMs) {
        continue;
      }
      const [vx, vy] = centre(v.lastBox);
      const reach = Math.max(v.lastBox[2] - v.lastBox[0], v.lastBox[3] - v.lastBox[1]);
      if (Math.hypot(cx - vx, cy - vy) <= reach) {
        this.#vehicles.delete(id);
        v.trackId = anchor.trackId!;
        this.#vehicles.set(v.trackId, v);
        return v;
      }
    }
    return undefined;
  }

  /** Forgets vehicles whose track is gone and whose cooldown has passed. */
  #prune(at: number): void {
    const live = new Set(this.tracker?.tracks().map((t) => t.id) ?? []);
    for (const [id, v] of this.#vehicles) {
      if (!live.has(id) && at - v.lastSeen > this.opts.cooldownMs) this.#vehicles.delete(id);
    }
  }
}
