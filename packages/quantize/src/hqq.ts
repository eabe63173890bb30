/**
 * Half-Quadratic Quantization (Badri & Shaji, 2023) of 4-bit weight blocks: for each block the
 * zero point is refined by alternating a sparsity-promoting fit of the quantization error
 * (an lp "shrink" with p < 1, so a few large outliers do not drag the whole block) and a
 * closed-form zero-point update. No calibration data; a few iterations per block.
 */

/** Solver settings (the paper's defaults). */
export interface HqqParams {
  /** lp norm of the error model, 0 < p < 1 (default 0.7). */
  p?: number;
  /** Initial half-quadratic penalty (default 10) and its growth per iteration (default 1.01). */
  beta?: number;
  kappa?: number;
  /** Iterations per block (default 20); stops early when the error stops falling. */
  iterations?: number;
}

/** Generalised soft threshold for the lp norm: sign(x)·max(|x| − |x|^(p−1)/β, 0). */
function shrink(x: number, beta: number, p: number): number {
  const a = Math.abs(x);
  if (a === 0) return 0;
  const t = a - a ** (p - 1) / beta;
  return t > 0 ? Math.sign(x) * t : 0;
}

/**
 * Block-quantize W [K, N] along K to codes in [0, 15] with per-block float scales and float zero
 * points (dequantized value = (code − zero) · scale, as MatMulNBits computes with float zero points).
 * Layout as quantizeBlocks: codes [N][K padded], scales and zero points [N][blocks].
 */
export function hqqBlocks(w: Float32Array, K: number, N: number, blockSize: number, params: HqqParams = {}) {
  const { p = 0.7, beta: beta0 = 10, kappa = 1.01, iterations = 20 } = params;
  const blocks = Math.ceil(K / blockSize);
  const kPad = blocks * blockSize;
  const codes = new Uint8Array(N * kPad);
  const scales = new Float32Array(N * blocks);
  const zeroPoints = new Float32Array(N * blocks);
  const v = new Float64Array(blockSize);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      let lo = Infinity,
        hi = -Infinity;
      for (let i = 0; i < blockSize; i++) {
        const k = b * blockSize + i;
        v[i] = k < K ? w[k * N + n] : 0;
        if (v[i] < lo) lo = v[i];
        if (v[i] > hi) hi = v[i];
      }
      const scale = Math.fround((hi - lo) / 15 || 1);
      const code = (x: number, z: number) => Math.min(15, Math.max(0, Math.round(x / scale + z)));
      let z = -lo / scale,
        bestZ = z,
        bestErr = Infinity,
        beta = beta0;
      for (let it = 0; it < iterations; it++) {
        let err = 0,
          zSum = 0;
        for (let i = 0; i < blockSize; i++) {
          const q = code(v[i], z);
          const r = (q - z) * scale;
          err += Math.abs(v[i] - r);
          // The zero point that reproduces the weight once the sparse error is set aside.
          zSum += q - (v[i] - shrink(v[i] - r, beta, p)) / scale;
        }
        if (err >= bestErr) break;
        bestErr = err;
        bestZ = z;
        z = zSum / blockSize;
        beta *= kappa;
      }
      scales[n * blocks + b] = scale;
      zeroPoints[n * blocks + b] = Math.fround(bestZ);
      for (let i = 0; i < blockSize; i++) codes[n * kPad + b * blockSize + i] = code(v[i], Math.fround(bestZ));
    }
  }
  return { codes, scales, zeroPoints, blocks, kPad };
}
