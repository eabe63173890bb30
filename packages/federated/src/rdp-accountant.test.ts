/**
 * The accountant against TF Privacy's published figures (compute_dp_sgd_privacy_test.py in
 * tensorflow/privacy, computed with Google's dp_accounting RDP accountant): DP-SGD on n samples,
 * batch b (q = b/n), noise σ, E epochs (⌈E·n/b⌉ steps), δ → ε and the optimal order.
 */
import { describe, expect, it } from 'vitest';
import { RdpAccountant, epsilonFromRdp, sampledGaussianRdp } from './rdp-accountant.js';

describe('RDP accountant for the subsampled Gaussian mechanism', () => {
  it.each([
    [60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19],
    [100000, 100, 1.0, 30, 1e-7, 1.4154988495444845, 13],
  ])('n=%i, batch %i, σ=%f, %i epochs, δ=%f gives TF Privacy’s ε', (n, batch, sigma, epochs, delta, eps, order) => {
    const accountant = new RdpAccountant();
    accountant.step(batch / n, sigma, Math.ceil((epochs * n) / batch));
    const spent = accountant.epsilon(delta);
    expect(spent.epsilon).toBeCloseTo(eps, 9);
    expect(spent.order).toBe(order);
  });

  it('composes additively and restores from saved RDP', () => {
    const once = new RdpAccountant();
    once.step(0.1, 1.1, 20);
    const twice = new RdpAccountant();
    twice.step(0.1, 1.1, 10);
    const resumed = new RdpAccountant();
    resumed.restore(twice.rdp);
    resumed.step(0.1, 1.1, 10);
    expect(resumed.epsilon(1e-5).epsilon).toBeCloseTo(once.epsilon(1e-5).epsilon, 12);
  });

  it('without sampling it is the Gaussian mechanism: α/(2σ²) per step', () => {
    expect(sampledGaussianRdp(1, 2, 8)).toBeCloseTo(8 / 8, 12);
    // q → 1 from below agrees with the closed form.
    expect(sampledGaussianRdp(1 - 1e-12, 2, 8)).toBeCloseTo(1, 6);
    expect(epsilonFromRdp([2], [0], 1e-5).epsilon).toBeGreaterThan(0);
  });

  it('rejects impossible settings with the option named', () => {
    expect(() => sampledGaussianRdp(1.5, 1, 2)).toThrow(/sampling rate/);
    expect(() => sampledGaussianRdp(0.1, 0, 2)).toThrow(/noise multiplier/);
    expect(() => new RdpAccountant().epsilon(0)).toThrow(/delta/);
  });
});
