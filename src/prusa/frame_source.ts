import { sleep } from "../core/mod.ts";
import type { Frame } from "../core/mod.ts";
import { FrameCache } from "../core/mod.ts";
import { checkJpeg } from "../core/mod.ts";
import { errorMessage } from "../core/mod.ts";
import { redactUrl } from "../core/mod.ts";
import { createSource, sourceKindOf, sourceKinds } from "../sources/mod.ts";
import type { Source, SourceOptions } from "../sources/mod.ts";

/** No frame could be had: the error message says why, for the log and the exit code. */
export class SourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SourceError";
  }
}

/** Where the uploader gets the frame to upload. */
export interface FrameSource {
  /** Redacted, safe to log. */
  readonly description: string;
  start(): void;
  /**
   * The frame to upload now: the next new frame if one comes within the wait, otherwise the
   * newest one there is (possibly stale: the uploader checks its age). Throws SourceError.
   */
  frame(signal: AbortSignal): Promise<Frame>;
  stop(): Promise<void>;
}

/** Frames from a FrameCache camera: the cache of `serve`, or a private one fed by a source. */
export class CacheFrameSource implements FrameSource {
  #lastSeq = 0;

  /**
   * `firstWaitMs`: how long to wait when the camera has no frame at all. `freshWaitMs`: when the
   * newest frame was already uploaded, how long to wait for a newer one before taking it again.
   */
  constructor(
    readonly cache: FrameCache,
    readonly camera: string,
    readonly firstWaitMs: number,
    readonly freshWaitMs: number,
    readonly description: string,
    private readonly source?: Source,
  ) {}

  start(): void {
    this.source?.start();
  }

  async frame(signal: AbortSignal): Promise<Frame> {
    const latest = this.cache.latest(this.camera);
    if (latest && latest.seq > this.#lastSeq) return this.#take(latest);
    const waitMs = latest ? this.freshWaitMs : this.firstWaitMs;
    const wait = AbortSignal.any([signal, AbortSignal.timeout(waitMs)]);
    let frame: Frame | undefined;
    try {
      frame = await this.cache.next(this.camera, this.#lastSeq, wait);
    } catch (err) {
      if (signal.aborted) throw err;
    }
    frame ??= this.cache.latest(this.camera);
    if (!frame) {
      const status = this.cache.sourceStatus(this.camera);
      const why = status?.lastError ? `; source ${status.state}: ${status.lastError}` : "";
      throw new SourceError(`no frame from ${this.description} within ${waitMs} ms${why}`);
    }
    return this.#take(frame);
  }

  #take(frame: Frame): Frame {
    this.#lastSeq = frame.seq;
    return frame;
  }

  async stop(): Promise<void> {
    await this.source?.stop();
  }
}

/** A JPEG file that something else keeps replacing; its modification time is the frame time. */
export class FileFrameSource implements FrameSource {
  readonly description: string;
  #seq = 0;
  #lastStamp = "";

  constructor(readonly path: string, readonly camera: string, readonly maxFrameBytes: number) {
    this.description = `file ${path}`;
  }

  start(): void {}

  async frame(signal: AbortSignal): Promise<Frame> {
    let lastReason = "";
    // A writer may be halfway through the file: a truncated JPEG is read again a few times.
    for (let attempt = 0; attempt < 4 && !signal.aborted; attempt++) {
      if (attempt > 0) await sleep(150, signal);
      let stat: Deno.FileInfo;
      let bytes: Uint8Array;
      try {
        stat = await Deno.stat(this.path);
        if (!stat.isFile) throw new SourceError(`${this.path} is not a regular file`);
        if (stat.size > this.maxFrameBytes) {
          throw new SourceError(
            `${this.path} is ${stat.size} bytes, more than the ${this.maxFrameBytes} accepted`,
          );
        }
        bytes = await Deno.readFile(this.path, { signal });
      } catch (err) {
        if (err instanceof SourceError) throw err;
        if (signal.aborted) throw err;
        throw new SourceError(`cannot read ${this.path}: ${errorMessage(err)}`);
      }
      const check = checkJpeg(bytes);
      if (!check.ok) {
        lastReason = check.reason;
        continue;
      }
      const at = stat.mtime?.getTime() ?? Date.now();
      const stamp = `${at}:${stat.size}`;
      if (stamp !== this.#lastStamp) {
        this.#lastStamp = stamp;
        this.#seq++;
      }
      return {
        camera: this.camera,
        seq: this.#seq,
        at,
        jpeg: bytes,
        width: check.info.width,
        height: check.info.height,
      };
    }
    throw new SourceError(`${this.path} is not a complete JPEG: ${lastReason || "aborted"}`);
  }

  async stop(): Promise<void> {}
}

/** The file path when SOURCE names a JPEG file (bare, `file:` or `file://`), else undefined. */
export function jpegFilePath(spec: string): string | undefined {
  const isJpeg = /\.jpe?g$/i.test(spec);
  if (/^file:/i.test(spec)) return isJpeg ? spec.replace(/^file:(\/\/)?/i, "") : undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(spec)) return undefined;
  return isJpeg || sourceKindOf(spec) === undefined ? spec : undefined;
}

export interface FrameSourceOptions extends SourceOptions {
  /** How long to wait for the first frame. */
  firstWaitMs: number;
  /** How long to wait for a frame newer than the one uploaded last. */
  freshWaitMs: number;
  maxFrameBytes: number;
}

/**
 * One frame source for `--from SOURCE`: a JPEG file path read directly, anything else through the
 * source registry into a private cache. The source is opened once and reused for every upload.
 */
export function createFrameSource(spec: string, opts: FrameSourceOptions): FrameSource {
  const camera = "upload";
  const path = jpegFilePath(spec);
  if (path !== undefined) return new FileFrameSource(path, camera, opts.maxFrameBytes);
  const kind = sourceKindOf(spec);
  if (!kind) {
    throw new SourceError(
      `--from "${redactUrl(spec)}" is neither a JPEG file nor a known source; known forms: ${
        sourceKinds.map((k) => k.example).join(", ")
      }`,
    );
  }
  const cache = new FrameCache();
  // maxFrameAgeS 0: a watched folder is only read, never cleaned up by the uploader.
  const source = createSource(camera, spec, cache, { ...opts, maxFrameAgeS: 0 });
  return new CacheFrameSource(
    cache,
    camera,
    opts.firstWaitMs,
    opts.freshWaitMs,
    redactUrl(spec),
    source,
  );
}
