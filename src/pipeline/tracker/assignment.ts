/**
 * Minimum-cost assignment (Hungarian method with potentials, O(n³)) between rows and columns of a
 * cost matrix; pairs costing more than `maxCost` are never matched.
 */
export interface Assignment {
  matches: [number, number][];
  unmatchedRows: number[];
  unmatchedCols: number[];
}

export function linearAssignment(
  cost: number[][],
  maxCost: number,
  cols = cost[0]?.length ?? 0,
): Assignment {
  const rows = cost.length;
  if (rows === 0 || cols === 0) {
    return {
      matches: [],
      unmatchedRows: [...Array(rows).keys()],
      unmatchedCols: [...Array(cols).keys()],
    };
  }
  const n = Math.max(rows, cols);
  // Forbidden pairs and padding cost more than any allowed assignment could save.
  const big = maxCost * (n + 1) + 1;
  const c = (i: number, j: number) =>
    i < rows && j < cols && cost[i][j] <= maxCost ? cost[i][j] : big;
  const u = new Float64Array(n + 1), v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1), way = new Int32Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(n + 1).fill(Infinity);
    const used = new Uint8Array(n + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity, j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = c(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  const matches: [number, number][] = [];
  const rowMatched = new Uint8Array(rows), colMatched = new Uint8Array(cols);
  for (let j = 1; j <= n; j++) {
    const i = p[j] - 1, jj = j - 1;
    if (i < rows && jj < cols && cost[i][jj] <= maxCost) {
      matches.push([i, jj]);
      rowMatched[i] = 1;
      colMatched[jj] = 1;
    }
  }
  return {
    matches,
    unmatchedRows: [...Array(rows).keys()].filter((i) => !rowMatched[i]),
    unmatchedCols: [...Array(cols).keys()].filter((j) => !colMatched[j]),
  };
}
