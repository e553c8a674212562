/**
 * Constant-velocity Kalman filter over boxes as (cx, cy, aspect, height), as in ByteTrack/SORT:
 * state = those four plus their velocities; noise scales with the box height.
 */

export type Vec = number[];
export type Mat = number[][];

const STD_POS = 1 / 20;
const STD_VEL = 1 / 160;

function zeros(r: number, c: number): Mat {
  return Array.from({ length: r }, () => new Array<number>(c).fill(0));
}

function mul(a: Mat, b: Mat): Mat {
  const n = a.length, m = b[0].length, k = b.length;
  const out = zeros(n, m);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < k; p++) {
      const v = a[i][p];
      if (v === 0) continue;
      for (let j = 0; j < m; j++) out[i][j] += v * b[p][j];
    }
  }
  return out;
}

function transpose(a: Mat): Mat {
  return a[0].map((_, j) => a.map((row) => row[j]));
}

function mulVec(a: Mat, v: Vec): Vec {
  return a.map((row) => row.reduce((s, x, j) => s + x * v[j], 0));
}

/** Inverse of a small square matrix by Gauss-Jordan with partial pivoting. */
export function invert(m: Mat): Mat {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    if (Math.abs(a[pivot][col]) < 1e-12) throw new Error("singular matrix");
    [a[col], a[pivot]] = [a[pivot], a[col]];
    const p = a[col][col];
    for (let j = 0; j < 2 * n; j++) a[col][j] /= p;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r][col];
      if (f === 0) continue;
      for (let j = 0; j < 2 * n; j++) a[r][j] -= f * a[col][j];
    }
  }
  return a.map((row) => row.slice(n));
}

const F: Mat = (() => {
  const f = zeros(8, 8);
  for (let i = 0; i < 8; i++) f[i][i] = 1;
  for (let i = 0; i < 4; i++) f[i][i + 4] = 1;
  return f;
})();
const FT = transpose(F);
const H: Mat = (() => {
  const h = zeros(4, 8);
  for (let i = 0; i < 4; i++) h[i][i] = 1;
  return h;
})();
const HT = transpose(H);

function diag(v: Vec): Mat {
  const d = zeros(v.length, v.length);
  v.forEach((x, i) => d[i][i] = x);
  return d;
}

export interface KalmanState {
  mean: Vec;
  cov: Mat;
}

/** A new state from a measurement (cx, cy, aspect, h), velocities unknown (large variance). */
export function initiate(z: Vec): KalmanState {
  const h = z[3];
  const std = [
    2 * STD_POS * h,
    2 * STD_POS * h,
    1e-2,
    2 * STD_POS * h,
    10 * STD_VEL * h,
    10 * STD_VEL * h,
    1e-5,
    10 * STD_VEL * h,
  ];
  return { mean: [...z, 0, 0, 0, 0], cov: diag(std.map((s) => s * s)) };
}

/** One frame ahead. */
export function predict(s: KalmanState): KalmanState {
  const h = s.mean[3];
  const std = [
    STD_POS * h,
    STD_POS * h,
    1e-2,
    STD_POS * h,
    STD_VEL * h,
    STD_VEL * h,
    1e-5,
    STD_VEL * h,
  ];
  const cov = mul(mul(F, s.cov), FT);
  std.forEach((x, i) => cov[i][i] += x * x);
  return { mean: mulVec(F, s.mean), cov };
}

/** Corrects the state with a measurement (cx, cy, aspect, h). */
export function update(s: KalmanState, z: Vec): KalmanState {
  const h = s.mean[3];
  const r = [STD_POS * h, STD_POS * h, 1e-1, STD_POS * h];
  const projMean = mulVec(H, s.mean);
  const projCov = mul(mul(H, s.cov), HT);
  r.forEach((x, i) => projCov[i][i] += x * x);
  const gain = mul(mul(s.cov, HT), invert(projCov)); // 8x4
  const innovation = z.map((v, i) => v - projMean[i]);
  const mean = s.mean.map((v, i) => v + gain[i].reduce((acc, g, j) => acc + g * innovation[j], 0));
  const kskt = mul(mul(gain, projCov), transpose(gain));
  const cov = s.cov.map((row, i) => row.map((v, j) => v - kskt[i][j]));
  return { mean, cov };
}

/** [x1,y1,x2,y2] ⇄ (cx, cy, aspect = w/h, h). */
export function boxToXyah(b: [number, number, number, number]): Vec {
  const w = b[2] - b[0], h = Math.max(b[3] - b[1], 1e-3);
  return [b[0] + w / 2, b[1] + h / 2, w / h, h];
}

export function xyahToBox(m: Vec): [number, number, number, number] {
  const h = m[3], w = m[2] * h;
  return [m[0] - w / 2, m[1] - h / 2, m[0] + w / 2, m[1] + h / 2];
}
