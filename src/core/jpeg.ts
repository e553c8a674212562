/**
 * JPEG structure walking without decoding: marker segments are skipped by their length, entropy-coded
 * data is scanned for the next real marker (FF00 stuffing and RSTn are data, not markers).
 */

export interface JpegInfo {
  width: number;
  height: number;
  /** Bytes up to and including EOI. */
  length: number;
}

export type JpegCheck = { ok: true; info: JpegInfo } | { ok: false; reason: string };

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;

function isStandalone(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7) || marker === SOI || marker === EOI;
}

function isSof(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Index of the first byte after the entropy-coded segment starting at `from`, or -1 if the data ends first. */
export function scanEntropy(buf: Uint8Array, from: number, end = buf.length): number {
  const r = scanEntropyFrom(buf, from, end);
  return r >= 0 ? r : -1;
}

/** Like scanEntropy, but when the data ends first returns `-(resume + 1)`: where a later scan must restart. */
function scanEntropyFrom(buf: Uint8Array, from: number, end: number): number {
  let i = from;
  const data = end === buf.length ? buf : buf.subarray(0, end);
  while (i < end) {
    const ff = data.indexOf(0xff, i);
    if (ff < 0) return -(end + 1);
    if (ff === end - 1) return -(ff + 1);
    const m = buf[ff + 1];
    if (m === 0x00 || (m >= 0xd0 && m <= 0xd7) || m === 0xff) {
      i = m === 0xff ? ff + 1 : ff + 2;
      continue;
    }
    return ff;
  }
  return -(i + 1);
}

/**
 * Width and height from the frame header of a JPEG, reading only the segments before it (no scan
 * of the image data); undefined when the bytes hold no frame header before the first scan.
 */
export function jpegHeaderSize(buf: Uint8Array): { width: number; height: number } | undefined {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== SOI) return undefined;
  let i = 2;
  while (i + 3 < buf.length) {
    if (buf[i] !== 0xff) return undefined;
    const marker = buf[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === EOI || marker === SOS) return undefined;
    if (isStandalone(marker)) {
      i += 2;
      continue;
    }
    const len = (buf[i + 2] << 8) | buf[i + 3];
    if (len < 2) return undefined;
    if (isSof(marker)) {
      if (i + 8 >= buf.length || len < 7) return undefined;
      const height = (buf[i + 5] << 8) | buf[i + 6];
      const width = (buf[i + 7] << 8) | buf[i + 8];
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    i += 2 + len;
  }
  return undefined;
}

/**
 * Where a walk over an incomplete JPEG stopped. Pass the same object again once more bytes arrived
 * (same `start`, larger `end`) and the walk continues there instead of from the SOI.
 */
export interface JpegWalkState {
  /** Offset from `start` where the walk resumes. */
  offset: number;
  width: number;
  height: number;
  sawScan: boolean;
  /** The resume offset is inside entropy-coded data. */
  inEntropy: boolean;
}

export function newJpegWalkState(): JpegWalkState {
  return { offset: 0, width: 0, height: 0, sawScan: false, inEntropy: false };
}

/**
 * Walks one JPEG from `start` (which must hold SOI). Returns the info when the image is complete
 * (EOI reached, a frame header seen), a reason when it is malformed, or "incomplete" when the
 * bytes end first. With `state`, an incomplete walk records where it stopped and a later call
 * with the same state resumes there (linear work for a frame that arrives in small chunks).
 */
export function walkJpeg(
  buf: Uint8Array,
  start = 0,
  end = buf.length,
  state: JpegWalkState = newJpegWalkState(),
): JpegCheck | "incomplete" {
  if (end - start < 2) return "incomplete";
  if (buf[start] !== 0xff || buf[start + 1] !== SOI) return { ok: false, reason: "no SOI marker" };
  let i = start + Math.max(2, state.offset);
  const pause = (at: number): "incomplete" => {
    state.offset = at - start;
    return "incomplete";
  };
  if (state.inEntropy) {
    const next = scanEntropyFrom(buf, i, end);
    if (next < 0) return pause(-next - 1);
    state.inEntropy = false;
    i = next;
  }
  while (true) {
    if (i + 1 >= end) return pause(i);
    if (buf[i] !== 0xff) return { ok: false, reason: `expected marker at byte ${i - start}` };
    const markerAt = i;
    let marker = buf[i + 1];
    while (marker === 0xff) {
      i++;
      if (i + 1 >= end) return pause(markerAt);
      marker = buf[i + 1];
    }
    if (marker === EOI) {
      if (!state.sawScan || state.width === 0) {
        return { ok: false, reason: "EOI before image data" };
      }
      return {
        ok: true,
        info: { width: state.width, height: state.height, length: i + 2 - start },
      };
    }
    if (marker === SOI) return { ok: false, reason: "SOI inside image" };
    if (isStandalone(marker)) {
      i += 2;
      continue;
    }
    if (i + 3 >= end) return pause(markerAt);
    const len = (buf[i + 2] << 8) | buf[i + 3];
    if (len < 2) return { ok: false, reason: `bad segment length at byte ${i - start}` };
    const segEnd = i + 2 + len;
    if (segEnd > end) return pause(markerAt);
    if (isSof(marker)) {
      if (len < 7) return { ok: false, reason: "short frame header" };
      state.height = (buf[i + 5] << 8) | buf[i + 6];
      state.width = (buf[i + 7] << 8) | buf[i + 8];
      if (state.width === 0 || state.height === 0) return { ok: false, reason: "zero image size" };
    }
    if (marker === SOS) {
      if (state.width === 0) return { ok: false, reason: "scan before frame header" };
      state.sawScan = true;
      const next = scanEntropyFrom(buf, segEnd, end);
      if (next < 0) {
        state.inEntropy = true;
        return pause(-next - 1);
      }
      i = next;
      continue;
    }
    i = segEnd;
  }
}

/** Checks that bytes hold exactly one complete JPEG (trailing padding ignored). */
export function checkJpeg(bytes: Uint8Array): JpegCheck {
  const r = walkJpeg(bytes);
  if (r === "incomplete") return { ok: false, reason: "truncated JPEG (no EOI)" };
  return r;
}

export function looksLikeJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === SOI && bytes[2] === 0xff;
}
