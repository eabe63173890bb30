import { describe, expect, it } from 'vitest';
import { klThresholdBin } from './calibrate.js';

describe('entropy (KL) threshold', () => {
  it('clips rare outliers of a Gaussian but keeps its body', () => {
    // |x| histogram of N(0, 1) over [0, 16): 2048 bins of 1/128, plus a few outliers near 15.
    const hist = new Float64Array(2048);
    for (let b = 0; b < 2048; b++) {
      const x = (b + 0.5) / 128;
      hist[b] = Math.round((1e6 * Math.exp((-x * x) / 2)) / 128);
    }
    hist[1920] += 3;
    const t = (klThresholdBin(hist, 128) + 0.5) / 128;
    expect(t).toBeGreaterThan(2.5);
    expect(t).toBeLessThan(8);
  });

  it('keeps the full range of a uniform distribution', () => {
    const hist = new Float64Array(2048);
    hist.fill(100, 0, 1024);
    const bin = klThresholdBin(hist, 128);
    expect(bin).toBeGreaterThanOrEqual(1000);
  });
});
