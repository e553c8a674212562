/**
 * Constant-velocity Kalman filter over boxes as (cx, cy, aspect, height), as in ByteTrack/SORT:
 * state = those four plus their velocities; noise scales with the box height. States are flat
 * typed arrays updated in place (this runs for every track on every frame).
 */

export type Vec = number[];
export type Mat = number[][];

const STD_POS = 1 / 20;
const STD_VEL = 1 / 160;

export interface KalmanState {
  /** x, y, a, h, vx, vy, va, vh */
  mean: Float64Array;
  /** 8×8 covariance, row-major. */
  cov: Float64Array;
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
  const mean = new Float64Array(8);
  mean.set(z.slice(0, 4));
  const cov = new Float64Array(64);
  for (let i = 0; i < 8; i++) cov[i * 9] = std[i] * std[i];
  return { mean, cov };
}

/** One frame ahead, in place: x' = F x, P' = F P Fᵀ + Q with F = [[I, I], [0, I]]. */
export function predict(s: KalmanState): KalmanState {
  const m = s.mean, P = s.cov;
  const h = m[3];
  for (let i = 0; i < 4; i++) m[i] += m[i + 4];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      const pv = P[i * 8 + j + 4], vp = P[(i + 4) * 8 + j], vv = P[(i + 4) * 8 + j + 4];
      P[i * 8 + j] += pv + vp + vv;
      P[i * 8 + j + 4] = pv + vv;
      P[(i + 4) * 8 + j] = vp + vv;
    }
  }
  const qp = STD_POS * h, qv = STD_VEL * h;
  const q = [qp, qp, 1e-2, qp, qv, qv, 1e-5, qv];
  for (let i = 0; i < 8; i++) P[i * 9] += q[i] * q[i];
  return s;
}

/** Corrects the state with a measurement (cx, cy, aspect, h), in place. */
export function update(s: KalmanState, z: Vec): KalmanState {
  const m = s.mean, P = s.cov;
  const h = m[3];
  const r = [STD_POS * h, STD_POS * h, 1e-1, STD_POS * h];
  // S = H P Hᵀ + R (the top-left 4×4 block of P plus R)
  const S: Mat = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => P[i * 8 + j]));
  for (let i = 0; i < 4; i++) S[i][i] += r[i] * r[i];
  const Si = invert(S);
  // K = P Hᵀ S⁻¹ (8×4)
  const K = new Float64Array(32);
  for (let i = 0; i < 8; i++) {
    for (let j = 0; j < 4; j++) {
      let acc = 0;
      for (let k = 0; k < 4; k++) acc += P[i * 8 + k] * Si[k][j];
      K[i * 4 + j] = acc;
    }
  }
  const y = [0, 1, 2, 3].map((i) => z[i] - m[i]);
  for (let i = 0; i < 8; i++) {
    m[i] += K[i * 4] * y[0] + K[i * 4 + 1] * y[1] + K[i * 4 + 2] * y[2] + K[i * 4 + 3] * y[3];
  }
  // P' = P − K H P (H P = the top four rows of P)
  const HP = P.slice(0, 32);
  for (let i = 0; i < 8; i++) {
    for (let j = 0; j < 8; j++) {
      P[i * 8 + j] -= K[i * 4] * HP[j] + K[i * 4 + 1] * HP[8 + j] + K[i * 4 + 2] * HP[16 + j] +
        K[i * 4 + 3] * HP[24 + j];
    }
  }
  return s;
}

/** [x1,y1,x2,y2] ⇄ (cx, cy, aspect = w/h, h). */
export function boxToXyah(b: [number, number, number, number]): Vec {
  const w = b[2] - b[0], h = Math.max(b[3] - b[1], 1e-3);
  return [b[0] + w / 2, b[1] + h / 2, w / h, h];
}

export function xyahToBox(m: ArrayLike<number>): [number, number, number, number] {
  const h = m[3], w = m[2] * h;
  return [m[0] - w / 2, m[1] - h / 2, m[0] + w / 2, m[1] + h / 2];
}
