import { type Csr, type Interactions, Random } from '@pncf/data';
import type { FitOptions, Recommender } from '../model.js';
import { choleskySolveInPlace } from './spd-inverse.js';

export interface IalsOptions {
  /** Latent dimension k. */
  factors?: number;
  /**
   * L2 regularisation λ of every user and item vector (not scaled by the row's number of items, as implicit).
   * The defaults of λ and α are only a start: `pncf experiment` uses values chosen on validation per data set.
   */
  lambda?: number;
  /** Confidence slope: c = 1 + alpha·x for an observed pair, 1 for every unobserved one. */
  alpha?: number;
  /** x in the confidence: the pair's count, or 1 for every observed pair. */
  confidence?: 'counts' | 'binary';
  /** Alternating sweeps (one user half-step plus one item half-step each). */
  sweeps?: number;
  /**
   * 'cg': a few conjugate-gradient steps per row, warm-started from the row's previous vector (implicit's
   * least_squares_cg): O(steps·(k² + n_u·k)) per row. 'cholesky': the exact k × k solve, O(k³ + n_u·k²) per row.
   */
  solver?: 'cg' | 'cholesky';
  /** CG steps per row and half-step (implicit's default 3). */
  cgSteps?: number;
  /** Record the objective after every sweep in the fit report (one extra O(rows·k²) pass per sweep). */
  recordLoss?: boolean;
}

export interface IalsFit {
  seconds: number;
  /** Objective after each sweep when `recordLoss` is set, else empty. */
  losses: number[];
}

/**
 * Implicit ALS (Hu, Koren & Volinsky 2008): minimises Σ_{u,i} c_ui (p_ui − x_u·y_i)² + λ(Σ‖x_u‖² + Σ‖y_i‖²)
 * over all user × item cells, p_ui = 1 on observed pairs and 0 elsewhere. Each half-step solves, per row,
 * (YᵀY + λI + Σ_{i∈u} (c_ui − 1) y_i y_iᵀ) x_u = Σ_{i∈u} c_ui y_i — YᵀY is shared by all rows (computed once per
 * half-step), so a row costs only its own items. score(u, i) = x_u·y_i.
 */
export class Ials implements Recommender<IalsFit> {
  readonly name = 'iALS';
  private readonly k: number;
  private readonly lambda: number;
  private readonly alpha: number;
  private readonly binary: boolean;
  private readonly sweeps: number;
  private readonly solver: 'cg' | 'cholesky';
  private readonly cgSteps: number;
  private readonly recordLoss: boolean;
  private userFactors = new Float64Array(0);
  private itemFactors = new Float64Array(0);
  private numItems = 0;

  constructor(options: IalsOptions = {}) {
    this.k = options.factors ?? 64;
    this.lambda = options.lambda ?? 1;
    this.alpha = options.alpha ?? 10;
    this.binary = (options.confidence ?? 'counts') === 'binary';
    this.sweeps = options.sweeps ?? 10;
    this.solver = options.solver ?? 'cg';
    this.cgSteps = options.cgSteps ?? 3;
    this.recordLoss = options.recordLoss ?? false;
  }

  async fit(train: Interactions, options: FitOptions = {}): Promise<IalsFit> {
    const start = performance.now();
    const k = this.k;
    const rng = new Random(options.seed ?? 1);
    // A small random start centred on 0 (implicit scales its uniform start by 0.01): the first half-step
    // then solves users against near-random items, and no direction of the factor space is favoured.
    const init = (rows: number) =>
      Float64Array.from({ length: rows * k }, () => (rng.next() - 0.5) * (0.1 / Math.sqrt(k)));
    const users = init(train.byUser.rows);
    const items = init(train.byItem.rows);
    const confUser = this.confidences(train.byUser);
    const confItem = this.confidences(train.byItem);
    const solver = new RowSolver(k, this.lambda, this.solver, this.cgSteps);
    const losses: number[] = [];
    for (let sweep = 0; sweep < this.sweeps; sweep++) {
      solver.solveAll(users, items, train.byUser, confUser);
      solver.solveAll(items, users, train.byItem, confItem);
      if (this.recordLoss) losses.push(ialsLoss(users, items, train.byUser, confUser, k, this.lambda));
      options.onProgress?.((sweep + 1) / this.sweeps, `sweep ${sweep + 1}`);
    }
    this.userFactors = users;
    this.itemFactors = items;
    this.numItems = train.byItem.rows;
    return { seconds: (performance.now() - start) / 1000, losses };
  }

  scoreUsers(users: Uint32Array, out: Float32Array): void {
    const { k, numItems: n, userFactors: x, itemFactors: y } = this;
    if (y.length === 0) throw new Error('iALS: fit before scoring');
    for (let b = 0; b < users.length; b++) {
      const xu = users[b]! * k;
      const o = b * n;
      let j = 0;
      // Four items per pass over x_u: each x_u[f] load feeds four dot products (~2× faster in V8 than one).
      for (; j + 4 <= n; j += 4) {
        const y0 = j * k;
        const y1 = y0 + k;
        const y2 = y1 + k;
        const y3 = y2 + k;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let f = 0; f < k; f++) {
          const v = x[xu + f]!;
          s0 += v * y[y0 + f]!;
          s1 += v * y[y1 + f]!;
          s2 += v * y[y2 + f]!;
          s3 += v * y[y3 + f]!;
        }
        out[o + j] = s0;
        out[o + j + 1] = s1;
        out[o + j + 2] = s2;
        out[o + j + 3] = s3;
      }
      for (; j < n; j++) {
        const yj = j * k;
        let s = 0;
        for (let f = 0; f < k; f++) s += x[xu + f]! * y[yj + f]!;
        out[o + j] = s;
      }
    }
  }

  /** c − 1 = alpha·x per stored pair, aligned with the CSR's entries. */
  private confidences(csr: Csr): Float64Array {
    const c = new Float64Array(csr.counts.length);
    for (let p = 0; p < c.length; p++) c[p] = this.alpha * (this.binary ? 1 : csr.counts[p]!);
    return c;
  }
}

/**
 * One half-step's solver: for every row r of `csr`, x_r ← argmin given the fixed factors `other`. Holds the
 * shared Gram G = otherᵀ·other + λI and the per-row scratch, so the loop allocates nothing.
 */
export class RowSolver {
  private readonly gram: Float64Array;
  private readonly x: Float64Array;
  private readonly r: Float64Array;
  private readonly p: Float64Array;
  private readonly ap: Float64Array;
  private readonly a: Float64Array;

  constructor(
    private readonly k: number,
    private readonly lambda: number,
    private readonly solver: 'cg' | 'cholesky',
    private readonly cgSteps: number,
  ) {
    this.gram = new Float64Array(k * k);
    this.x = new Float64Array(k);
    this.r = new Float64Array(k);
    this.p = new Float64Array(k);
    this.ap = new Float64Array(k);
    this.a = new Float64Array(solver === 'cholesky' ? k * k : 0);
  }

  /**
   * Solve every row of `target` against the fixed `other` factors; `extra[p]` = c − 1 of the CSR's entry p.
   * Rows without entries get x = 0 (the exact minimiser: their right-hand side is zero).
   */
  solveAll(target: Float64Array, other: Float64Array, csr: Csr, extra: Float64Array): void {
    gramPlusRidge(other, this.k, this.lambda, this.gram);
    for (let row = 0; row < csr.rows; row++) {
      const start = csr.indptr[row]!;
      const end = csr.indptr[row + 1]!;
      if (start === end) {
        target.fill(0, row * this.k, (row + 1) * this.k);
        continue;
      }
      if (this.solver === 'cg') this.conjugateGradient(target, row, other, csr.indices, extra, start, end);
      else this.exact(target, row, other, csr.indices, extra, start, end);
    }
  }

  /**
   * implicit's least_squares_cg for one row: r = b − A·x with A·v = G·v + Σ_i (c_i − 1)(y_i·v) y_i and
   * b = Σ_i c_i y_i, then `cgSteps` CG steps from the previous x (warm start, so a few steps suffice).
   */
  private conjugateGradient(
    target: Float64Array,
    row: number,
    other: Float64Array,
    indices: Uint32Array,
    extra: Float64Array,
    start: number,
    end: number,
  ): void {
    const { k, gram, x, r, p, ap } = this;
    const off = row * k;
    for (let f = 0; f < k; f++) x[f] = target[off + f]!;
    symMatVec(gram, x, r, k);
    for (let f = 0; f < k; f++) r[f] = -r[f]!;
    for (let q = start; q < end; q++) {
      const yi = indices[q]! * k;
      const e = extra[q]!;
      let dot = 0;
      for (let f = 0; f < k; f++) dot += other[yi + f]! * x[f]!;
      const w = 1 + e - e * dot; // c − (c − 1)·(y·x)
      for (let f = 0; f < k; f++) r[f]! += w * other[yi + f]!;
    }
    p.set(r);
    let rsOld = dotK(r, r, k);
    for (let step = 0; step < this.cgSteps && rsOld > 1e-20; step++) {
      symMatVec(gram, p, ap, k);
      for (let q = start; q < end; q++) {
        const yi = indices[q]! * k;
        let dot = 0;
        for (let f = 0; f < k; f++) dot += other[yi + f]! * p[f]!;
        const w = extra[q]! * dot;
        for (let f = 0; f < k; f++) ap[f]! += w * other[yi + f]!;
      }
      const stepSize = rsOld / dotK(p, ap, k);
      for (let f = 0; f < k; f++) {
        x[f]! += stepSize * p[f]!;
        r[f]! -= stepSize * ap[f]!;
      }
      const rsNew = dotK(r, r, k);
      const beta = rsNew / rsOld;
      for (let f = 0; f < k; f++) p[f] = r[f]! + beta * p[f]!;
      rsOld = rsNew;
    }
    for (let f = 0; f < k; f++) target[off + f] = x[f]!;
  }

  /** The exact solve: A = G + Σ_i (c_i − 1) y_i y_iᵀ, b = Σ_i c_i y_i, A x = b by Cholesky. */
  private exact(
    target: Float64Array,
    row: number,
    other: Float64Array,
    indices: Uint32Array,
    extra: Float64Array,
    start: number,
    end: number,
  ): void {
    const { k, gram, a, x } = this;
    a.set(gram);
    x.fill(0);
    for (let q = start; q < end; q++) {
      const yi = indices[q]! * k;
      const e = extra[q]!;
      for (let f = 0; f < k; f++) {
        const v = other[yi + f]!;
        x[f]! += (1 + e) * v;
        const ev = e * v;
        const rf = f * k;
        for (let g = 0; g <= f; g++) a[rf + g]! += ev * other[yi + g]!;
      }
    }
    choleskySolveInPlace(a, x, k); // reads the lower triangle only
    target.set(x, row * k);
  }
}

/** out = Fᵀ·F + λI for the row-major rows × k factor matrix F (full symmetric k × k). */
export function gramPlusRidge(factors: Float64Array, k: number, lambda: number, out: Float64Array): void {
  out.fill(0);
  const rows = factors.length / k;
  for (let r = 0; r < rows; r++) {
    const o = r * k;
    for (let f = 0; f < k; f++) {
      const v = factors[o + f]!;
      if (v === 0) continue;
      const rf = f * k;
      for (let g = 0; g <= f; g++) out[rf + g]! += v * factors[o + g]!;
    }
  }
  for (let f = 0; f < k; f++) {
    out[f * k + f]! += lambda;
    for (let g = 0; g < f; g++) out[g * k + f] = out[f * k + g]!;
  }
}

/** out = M·v for a k × k row-major M; four rows at a time so each v[g] load feeds four sums (~2× in V8). */
function symMatVec(m: Float64Array, v: Float64Array, out: Float64Array, k: number): void {
  let f = 0;
  for (; f + 4 <= k; f += 4) {
    const r0 = f * k;
    const r1 = r0 + k;
    const r2 = r1 + k;
    const r3 = r2 + k;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let g = 0; g < k; g++) {
      const vg = v[g]!;
      s0 += m[r0 + g]! * vg;
      s1 += m[r1 + g]! * vg;
      s2 += m[r2 + g]! * vg;
      s3 += m[r3 + g]! * vg;
    }
    out[f] = s0;
    out[f + 1] = s1;
    out[f + 2] = s2;
    out[f + 3] = s3;
  }
  for (; f < k; f++) {
    const rf = f * k;
    let s = 0;
    for (let g = 0; g < k; g++) s += m[rf + g]! * v[g]!;
    out[f] = s;
  }
}

function dotK(a: Float64Array, b: Float64Array, k: number): number {
  let s = 0;
  for (let f = 0; f < k; f++) s += a[f]! * b[f]!;
  return s;
}

/**
 * The iALS objective without a dense pass over all cells: Σ_all (x_u·y_i)² = Σ_u x_uᵀ(YᵀY)x_u, then each observed
 * pair swaps its unit-confidence zero-target term s² for c(1 − s)².
 */
export function ialsLoss(
  users: Float64Array,
  items: Float64Array,
  byUser: Csr,
  extra: Float64Array,
  k: number,
  lambda: number,
): number {
  const gram = new Float64Array(k * k);
  gramPlusRidge(items, k, 0, gram);
  const tmp = new Float64Array(k);
  const xu = new Float64Array(k);
  let loss = 0;
  for (let u = 0; u < byUser.rows; u++) {
    for (let f = 0; f < k; f++) xu[f] = users[u * k + f]!;
    symMatVec(gram, xu, tmp, k);
    loss += dotK(xu, tmp, k);
    for (let q = byUser.indptr[u]!; q < byUser.indptr[u + 1]!; q++) {
      const yi = byUser.indices[q]! * k;
      let s = 0;
      for (let f = 0; f < k; f++) s += xu[f]! * items[yi + f]!;
      loss += (1 + extra[q]!) * (1 - s) ** 2 - s * s;
    }
  }
  let norms = 0;
  for (let p = 0; p < users.length; p++) norms += users[p]! ** 2;
  for (let p = 0; p < items.length; p++) norms += items[p]! ** 2;
  return loss + lambda * norms;
}
