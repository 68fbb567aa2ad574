import type { TfRuntime } from '../tf-backend.js';

/**
 * Inverse of a symmetric positive definite matrix (row-major n × n, Float64) via Cholesky A = LLᵀ,
 * W = L⁻¹, A⁻¹ = WᵀW. Every inner loop runs along contiguous rows. Returns a new array.
 */
export function invertSpdCholesky(a: Float64Array, n: number): Float64Array {
  const l = Float64Array.from(a);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = l[ri + j]!;
      for (let k = 0; k < j; k++) s -= l[ri + k]! * l[rj + k]!;
      if (i === j) {
        if (!(s > 0)) throw new Error(`matrix is not positive definite (pivot ${i})`);
        l[ri + i] = Math.sqrt(s);
      } else {
        l[ri + j] = s / l[rj + j]!;
      }
    }
  }
  // W = L⁻¹ row by row: W[i] = (e_i − Σ_{k<i} L[i,k]·W[k]) / L[i,i]; W[k] is zero beyond column k.
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    w[ri + i] = 1;
    for (let k = 0; k < i; k++) {
      const f = l[ri + k]!;
      if (f === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) w[ri + j]! -= f * w[rk + j]!;
    }
    const d = l[ri + i]!;
    for (let j = 0; j <= i; j++) w[ri + j]! /= d;
  }
  // A⁻¹ = WᵀW: row k of W contributes W[k,i]·W[k,j] to (i, j); fill the lower triangle, then mirror.
  const inv = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let i = 0; i <= k; i++) {
      const f = w[rk + i]!;
      if (f === 0) continue;
      const ri = i * n;
      for (let j = 0; j <= i; j++) inv[ri + j]! += f * w[rk + j]!;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) inv[j * n + i] = inv[i * n + j]!;
  return inv;
}

/**
 * Solve A·x = b in place for a symmetric positive definite n × n A (row-major, Float64): A's lower triangle is
 * overwritten by its Cholesky factor L (the upper triangle is never read), b by x. For small systems solved
 * many times (iALS rows), so nothing is allocated.
 */
export function choleskySolveInPlace(a: Float64Array, b: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = a[ri + j]!;
      for (let k = 0; k < j; k++) s -= a[ri + k]! * a[rj + k]!;
      if (i === j) {
        if (!(s > 0)) throw new Error(`matrix is not positive definite (pivot ${i})`);
        a[ri + i] = Math.sqrt(s);
      } else {
        a[ri + j] = s / a[rj + j]!;
      }
    }
  }
  // L·z = b, then Lᵀ·x = z.
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= a[ri + k]! * b[k]!;
    b[i] = s / a[ri + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= a[k * n + i]! * b[k]!;
    b[i] = s / a[i * n + i]!;
  }
}

/**
 * Inverse of a symmetric positive definite matrix by a blocked sweep (Gauss–Jordan without pivoting, which
 * SPD matrices do not need): for each block K of `block` pivots, with C = A[:, K] and P = A_KK⁻¹,
 * A ← A − (CP)Cᵀ, then A[:, K] = CP, A[K, :] = (CP)ᵀ, A_KK = −P. After all blocks A holds −A⁻¹.
 * The two n×b matmuls per block (2n³ flops in all) run on TensorFlow.js (wasm reaches ~40 GFLOP/s here,
 * ~20× plain JS); the small b×b inverses use the Float64 Cholesky above. Float32 throughout otherwise.
 */
export function invertSpdSweep(a: Float32Array, n: number, runtime: TfRuntime, block = 512): Float32Array {
  const { tf } = runtime;
  const m = Float32Array.from(a);
  const c = new Float32Array(n * block);
  for (let k0 = 0; k0 < n; k0 += block) {
    const b = Math.min(block, n - k0);
    const k1 = k0 + b;
    for (let i = 0; i < n; i++) c.set(m.subarray(i * n + k0, i * n + k1), i * b);
    const kk = new Float64Array(b * b);
    for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) kk[i * b + j] = c[(k0 + i) * b + j]!;
    const p = invertSpdCholesky(kk, b);
    // tidy returns tensors, not typed arrays: it walks returned containers element by element.
    const [cpT, updateT] = tf.tidy(() => {
      const cT = tf.tensor2d(c.subarray(0, n * b), [n, b]);
      const cpT = tf.matMul(cT, tf.tensor2d(Float32Array.from(p), [b, b]));
      // An explicit transpose: matMul's transposeB path is ~10× slower on the wasm backend.
      return [cpT, tf.matMul(cpT, tf.transpose(cT))];
    });
    const cp = cpT.dataSync() as Float32Array;
    const update = updateT.dataSync() as Float32Array;
    cpT.dispose();
    updateT.dispose();
    for (let x = 0; x < n * n; x++) m[x]! -= update[x]!;
    for (let i = 0; i < n; i++) {
      const inK = i >= k0 && i < k1;
      for (let j = 0; j < b; j++) {
        if (inK) {
          m[i * n + k0 + j] = -p[(i - k0) * b + j]!;
        } else {
          const v = cp[i * b + j]!;
          m[i * n + k0 + j] = v;
          m[(k0 + j) * n + i] = v;
        }
      }
    }
  }
  for (let x = 0; x < n * n; x++) m[x] = -m[x]!;
  return m;
}
