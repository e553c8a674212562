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
  let i = from;
  while (i < end) {
    const ff = buf.indexOf(0xff, i);
    if (ff < 0 || ff >= end - 1) return -1;
    const m = buf[ff + 1];
    if (m === 0x00 || (m >= 0xd0 && m <= 0xd7) || m === 0xff) {
      i = m === 0xff ? ff + 1 : ff + 2;
      continue;
    }
    return ff;
  }
  return -1;
}

/**
 * Walks one JPEG from `start` (which must hold SOI). Returns the info when the image is complete
 * (EOI reached, a frame header seen), a reason when it is malformed, or "incomplete" when the
 * bytes end first.
 */
export function walkJpeg(
  buf: Uint8Array,
  start = 0,
  end = buf.length,
): JpegCheck | "incomplete" {
  if (end - start < 2) return "incomplete";
  if (buf[start] !== 0xff || buf[start + 1] !== SOI) return { ok: false, reason: "no SOI marker" };
  let i = start + 2;
  let width = 0;
  let height = 0;
  let sawScan = false;
  while (true) {
    if (i + 1 >= end) return "incomplete";
    if (buf[i] !== 0xff) return { ok: false, reason: `expected marker at byte ${i - start}` };
    let marker = buf[i + 1];
    while (marker === 0xff) {
      i++;
      if (i + 1 >= end) return "incomplete";
      marker = buf[i + 1];
    }
    if (marker === EOI) {
      if (!sawScan || width === 0) return { ok: false, reason: "EOI before image data" };
      return { ok: true, info: { width, height, length: i + 2 - start } };
    }
    if (marker === SOI) return { ok: false, reason: "SOI inside image" };
    if (isStandalone(marker)) {
      i += 2;
      continue;
    }
    if (i + 3 >= end) return "incomplete";
    const len = (buf[i + 2] << 8) | buf[i + 3];
    if (len < 2) return { ok: false, reason: `bad segment length at byte ${i - start}` };
    const segEnd = i + 2 + len;
    if (segEnd > end) return "incomplete";
    if (isSof(marker)) {
      if (len < 7) return { ok: false, reason: "short frame header" };
      height = (buf[i + 5] << 8) | buf[i + 6];
      width = (buf[i + 7] << 8) | buf[i + 8];
      if (width === 0 || height === 0) return { ok: false, reason: "zero image size" };
    }
    if (marker === SOS) {
      if (width === 0) return { ok: false, reason: "scan before frame header" };
      sawScan = true;
      const next = scanEntropy(buf, segEnd, end);
      if (next < 0) return "incomplete";
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
