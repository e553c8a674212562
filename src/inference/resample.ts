/**
 * RGBX → planar float32 / 255 at another size, written into a region of a model's input
 * tensor in one pass: area averaging when shrinking, bilinear when enlarging.
 */

/** For each output position, `n` source indices and their weights. */
interface Taps {
  n: number;
  index: Int32Array;
  weight: Float32Array;
}

/** The taps of the last few sizes: the same camera gives the same sizes frame after frame. */
const known = new Map<string, Taps>();

function cachedTaps(src: number, dst: number, gain: number): Taps {
  const key = `${src}/${dst}/${gain}`;
  let t = known.get(key);
  if (!t) {
    if (known.size >= 16) known.delete(known.keys().next().value!);
    t = taps(src, dst, gain);
    known.set(key, t);
  }
  return t;
}

/** Area weights when shrinking (each output the mean of what it covers), bilinear when enlarging. */
function taps(src: number, dst: number, gain: number): Taps {
  const s = src / dst;
  let n = 2;
  if (s > 1) {
    for (let o = 0; o < dst; o++) n = Math.max(n, Math.ceil((o + 1) * s) - Math.floor(o * s));
  }
  const index = new Int32Array(dst * n);
  const weight = new Float32Array(dst * n);
  for (let o = 0; o < dst; o++) {
    if (s >= 1) {
      const a = o * s;
      const first = Math.floor(a);
      for (let k = 0; k < n; k++) {
        const i = first + k;
        const overlap = Math.min(a + s, i + 1) - Math.max(a, i);
        index[o * n + k] = Math.min(src - 1, i);
        weight[o * n + k] = overlap > 0 ? overlap / s * gain : 0;
      }
    } else {
      const c = (o + 0.5) * s - 0.5;
      const first = Math.floor(c);
      index[o * n] = Math.max(0, first);
      index[o * n + 1] = Math.min(src - 1, first + 1);
      weight[o * n] = (1 - (c - first)) * gain;
      weight[o * n + 1] = (c - first) * gain;
    }
  }
  return { n, index, weight };
}

/**
 * Resamples RGBX `rgbx` (4 bytes a pixel, byte offset a multiple of 4) of `sw`×`sh` to `w`×`h`
 * and writes it / 255 into the planar float32 `out` of `inW`×`inH` at (`left`, `top`); the rest
 * of `out` is left as it is.
 */
export function resampleToNchw(
  rgbx: Uint8Array,
  sw: number,
  sh: number,
  out: Float32Array,
  inW: number,
  inH: number,
  left: number,
  top: number,
  w: number,
  h: number,
): void {
  // one 32-bit read per pixel: R in the low byte (every platform Deno runs on is little-endian)
  const px = new Uint32Array(rgbx.buffer, rgbx.byteOffset, sw * sh);
  const tx = cachedTaps(sw, w, 1 / 255);
  const ty = cachedTaps(sh, h, 1);
  if (tx.n !== 2 || ty.n !== 2) return resampleWide(px, sw, out, inW, inH, left, top, tx, ty);
  const { index: ix, weight: wx } = tx;
  const { index: iy, weight: wy } = ty;
  const plane = inW * inH;
  for (let y = 0; y < h; y++) {
    const row0 = iy[2 * y] * sw;
    const row1 = iy[2 * y + 1] * sw;
    const a0 = wy[2 * y];
    const a1 = wy[2 * y + 1];
    let o = (top + y) * inW + left;
    for (let x = 0; x < w; x++, o++) {
      const c0 = ix[2 * x];
      const c1 = ix[2 * x + 1];
      const w00 = a0 * wx[2 * x], w01 = a0 * wx[2 * x + 1];
      const w10 = a1 * wx[2 * x], w11 = a1 * wx[2 * x + 1];
      const p = px[row0 + c0], q = px[row0 + c1], s = px[row1 + c0], u = px[row1 + c1];
      out[o] = w00 * (p & 255) + w01 * (q & 255) + w10 * (s & 255) + w11 * (u & 255);
      out[plane + o] = w00 * ((p >> 8) & 255) + w01 * ((q >> 8) & 255) +
        w10 * ((s >> 8) & 255) + w11 * ((u >> 8) & 255);
      out[2 * plane + o] = w00 * ((p >> 16) & 255) + w01 * ((q >> 16) & 255) +
        w10 * ((s >> 16) & 255) + w11 * ((u >> 16) & 255);
    }
  }
}

/** The same for shrinking by more than 2 on an axis: every covered input, row by row. */
function resampleWide(
  px: Uint32Array,
  sw: number,
  out: Float32Array,
  inW: number,
  inH: number,
  left: number,
  top: number,
  tx: Taps,
  ty: Taps,
): void {
  const plane = inW * inH;
  const line = new Float32Array(sw * 3);
  const w = tx.index.length / tx.n;
  const h = ty.index.length / ty.n;
  for (let y = 0; y < h; y++) {
    line.fill(0);
    for (let k = y * ty.n; k < (y + 1) * ty.n; k++) {
      const wt = ty.weight[k];
      const from = ty.index[k] * sw;
      if (wt === 0) continue;
      for (let i = 0, j = 0; i < sw; i++, j += 3) {
        const p = px[from + i];
        line[j] += wt * (p & 255);
        line[j + 1] += wt * ((p >> 8) & 255);
        line[j + 2] += wt * ((p >> 16) & 255);
      }
    }
    let o = (top + y) * inW + left;
    for (let x = 0, t = 0; x < w; x++, o++) {
      let vr = 0, vg = 0, vb = 0;
      for (const end = t + tx.n; t < end; t++) {
        const j = tx.index[t] * 3;
        vr += tx.weight[t] * line[j];
        vg += tx.weight[t] * line[j + 1];
        vb += tx.weight[t] * line[j + 2];
      }
      out[o] = vr;
      out[plane + o] = vg;
      out[2 * plane + o] = vb;
    }
  }
}
