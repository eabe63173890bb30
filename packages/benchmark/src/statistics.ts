/** Summary of a set of latency samples, in milliseconds. */
export interface LatencyStats {
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 for a single sample. */
  std: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

/**
 * The q-th percentile (0–100) of ascending-sorted samples, interpolating linearly between the
 * two nearest ranks: NumPy's default (`method='linear'`), so figures match what a user gets
 * from `numpy.percentile` on the same samples.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = (q / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/**
 * Mean, spread and percentiles of the samples (any order; the input is not modified).
 *
 * @example
 * ```ts
 * latencyStats([4, 1, 3, 2]).p50; // 2.5
 * ```
 */
export function latencyStats(samples: ArrayLike<number>): LatencyStats {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  if (n === 0) return { mean: NaN, std: NaN, min: NaN, max: NaN, p50: NaN, p90: NaN, p95: NaN, p99: NaN };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (sorted[i] - mean) ** 2;
  return {
    mean,
    std: n > 1 ? Math.sqrt(sq / (n - 1)) : 0,
    min: sorted[0],
    max: sorted[n - 1],
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
  };
}

/** Counts of samples in `bins` equal-width bins over [min, max], for histograms. */
export function histogram(samples: ArrayLike<number>, bins: number): { edges: number[]; counts: number[] } {
  const stats = latencyStats(samples);
  const width = (stats.max - stats.min) / bins || 1;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < samples.length; i++) counts[Math.min(bins - 1, Math.floor((samples[i] - stats.min) / width))]++;
  return { edges: Array.from({ length: bins + 1 }, (_, i) => stats.min + i * width), counts };
}
