/**
 * Packed RGB → planar float32 / 255 at another size, written into a region of a model's input
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
 * Resamples packed RGB `rgb` of `sw`×`sh` to `w`×`h` and writes it / 255 into the planar
 * float32 `out` of `inW`×`inH` at (`left`, `top`); the rest of `out` is left as it is.
 */
export function resampleToNchw(
  rgb: Uint8Array,
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
  const tx = cachedTaps(sw, w, 1 / 255);
  const ty = cachedTaps(sh, h, 1);
  if (tx.n !== 2 || ty.n !== 2) return resampleWide(rgb, sw, out, inW, inH, left, top, tx, ty);
  const { index: ix, weight: wx } = tx;
  const { index: iy, weight: wy } = ty;
  const stride = sw * 3;
  const plane = inW * inH;
  const r = out.subarray(0, plane);
  const g = out.subarray(plane, 2 * plane);
  const b = out.subarray(2 * plane, 3 * plane);
  for (let y = 0; y < h; y++) {
    const row0 = iy[2 * y] * stride;
    const row1 = iy[2 * y + 1] * stride;
    const a0 = wy[2 * y];
    const a1 = wy[2 * y + 1];
    let o = (top + y) * inW + left;
    for (let x = 0; x < w; x++, o++) {
      const c0 = ix[2 * x] * 3;
      const c1 = ix[2 * x + 1] * 3;
      const w00 = a0 * wx[2 * x], w01 = a0 * wx[2 * x + 1];
      const w10 = a1 * wx[2 * x], w11 = a1 * wx[2 * x + 1];
      const p = row0 + c0, q = row0 + c1, s = row1 + c0, u = row1 + c1;
      r[o] = w00 * rgb[p] + w01 * rgb[q] + w10 * rgb[s] + w11 * rgb[u];
      g[o] = w00 * rgb[p + 1] + w01 * rgb[q + 1] + w10 * rgb[s + 1] + w11 * rgb[u + 1];
      b[o] = w00 * rgb[p + 2] + w01 * rgb[q + 2] + w10 * rgb[s + 2] + w11 * rgb[u + 2];
    }
  }
}

/** The same for shrinking by more than 2 on an axis: every covered input, row by row. */
function resampleWide(
  rgb: Uint8Array,
  sw: number,
  out: Float32Array,
  inW: number,
  inH: number,
  left: number,
  top: number,
  tx: Taps,
  ty: Taps,
): void {
  const stride = sw * 3;
  const plane = inW * inH;
  const line = new Float32Array(stride);
  const w = tx.index.length / tx.n;
  const h = ty.index.length / ty.n;
  for (let y = 0; y < h; y++) {
    line.fill(0);
    for (let k = y * ty.n; k < (y + 1) * ty.n; k++) {
      const wt = ty.weight[k];
      const from = ty.index[k] * stride;
      if (wt !== 0) { for (let i = 0; i < stride; i++) line[i] += wt * rgb[from + i]; }
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
