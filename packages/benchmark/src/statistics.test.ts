import { describe, expect, it } from 'vitest';
import { histogram, latencyStats, percentileOfSorted } from './statistics.js';

describe('latencyStats', () => {
  it('matches hand-computed figures for 1..10 in any order', () => {
    const s = latencyStats([7, 3, 10, 1, 5, 9, 2, 8, 4, 6]);
    expect(s.mean).toBe(5.5);
    // sum of squared deviations = 82.5; / 9 = 9.1667
    expect(s.std).toBeCloseTo(Math.sqrt(82.5 / 9), 12);
    expect([s.min, s.max]).toEqual([1, 10]);
    // rank = q/100 · 9: p50 → 4.5 → 5.5; p90 → 8.1 → 9.1; p95 → 8.55 → 9.55; p99 → 8.91 → 9.91
    expect(s.p50).toBeCloseTo(5.5, 12);
    expect(s.p90).toBeCloseTo(9.1, 12);
    expect(s.p95).toBeCloseTo(9.55, 12);
    expect(s.p99).toBeCloseTo(9.91, 12);
  });

  it('handles one sample, repeated values and empty input', () => {
    expect(latencyStats([2.5])).toEqual({
      mean: 2.5,
      std: 0,
      min: 2.5,
      max: 2.5,
      p50: 2.5,
      p90: 2.5,
      p95: 2.5,
      p99: 2.5,
    });
    expect(latencyStats([3, 3, 3, 3]).std).toBe(0);
    expect(Number.isNaN(latencyStats([]).p50)).toBe(true);
  });

  it("does not reorder the caller's samples", () => {
    const samples = [3, 1, 2];
    latencyStats(samples);
    expect(samples).toEqual([3, 1, 2]);
  });

  it('interpolates between ranks like numpy.percentile', () => {
    // numpy.percentile([10, 20, 30, 40], 25) == 17.5; 75 → 32.5
    expect(percentileOfSorted([10, 20, 30, 40], 25)).toBe(17.5);
    expect(percentileOfSorted([10, 20, 30, 40], 75)).toBe(32.5);
  });
});

describe('histogram', () => {
  it('puts every sample in one bin, the maximum in the last', () => {
    const h = histogram([0, 1, 1, 2, 3, 4], 4);
    expect(h.edges).toEqual([0, 1, 2, 3, 4]);
    expect(h.counts).toEqual([1, 2, 1, 2]);
  });
});
