import { InvalidArgumentError } from '@edgeml/core';

/** The integer Rényi orders the accountant tracks (those TF Privacy's DP-SGD analysis uses, minus its fractional ones). */
export const RDP_ORDERS: readonly number[] = [...Array.from({ length: 63 }, (_, i) => i + 2), 128, 256, 512];

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const hi = Math.max(a, b);
  return hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
}

function logBinomial(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/**
 * Rényi DP of one step of the Poisson-subsampled Gaussian mechanism at integer order α:
 * log A_α / (α − 1) with A_α = Σₖ C(α,k)·(1−q)^(α−k)·q^k·exp((k²−k)/(2σ²)), the closed form of
 * Mironov, Talwar and Zhang, "Rényi Differential Privacy of the Sampled Gaussian Mechanism"
 * (2019), §3.3 — the computation TF Privacy's and Google's dp_accounting RDP accountants make.
 */
export function sampledGaussianRdp(q: number, noiseMultiplier: number, order: number): number {
  if (!(q >= 0 && q <= 1)) throw new InvalidArgumentError(`the sampling rate must be in [0, 1], got ${q}`, 'q');
  if (!(noiseMultiplier > 0))
    throw new InvalidArgumentError(`the noise multiplier must be positive, got ${noiseMultiplier}`, 'noiseMultiplier');
  if (!Number.isInteger(order) || order < 2)
    throw new InvalidArgumentError(`RDP orders here are integers ≥ 2, got ${order}`, 'order');
  if (q === 0) return 0;
  const variance = noiseMultiplier * noiseMultiplier;
  if (q === 1) return order / (2 * variance);
  let logA = -Infinity;
  for (let k = 0; k <= order; k++)
    logA = logAdd(
      logA,
      logBinomial(order, k) + k * Math.log(q) + (order - k) * Math.log1p(-q) + (k * k - k) / (2 * variance),
    );
  return logA / (order - 1);
}

/**
 * (ε, δ) from Rényi DP at several orders, by the conversion of Canonne, Kamath and Steinke
 * (2020, Prop. 12; also Balle et al. 2020): ε = RDP(α) + log((α−1)/α) − (log δ + log α)/(α − 1),
 * minimised over α. Tighter than the classic RDP(α) + log(1/δ)/(α − 1), and what dp_accounting uses.
 */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
): { epsilon: number; order: number } {
  if (!(delta > 0 && delta < 1)) throw new InvalidArgumentError(`delta must be in (0, 1), got ${delta}`, 'delta');
  let best = { epsilon: Infinity, order: orders[0] };
  orders.forEach((a, i) => {
    const eps = Math.max(0, rdp[i] + Math.log1p(-1 / a) - (Math.log(delta) + Math.log(a)) / (a - 1));
    if (eps < best.epsilon) best = { epsilon: eps, order: a };
  });
  return best;
}

/**
 * A privacy accountant for repeated subsampled Gaussian mechanisms (DP-FedAvg rounds, DP-SGD
 * steps): it adds up Rényi DP per order over the steps taken and reports ε for a δ.
 *
 * Client-level DP in federated averaging (McMahan et al., "Learning Differentially Private
 * Recurrent Language Models", 2018): each round samples clients at rate q, clips each client's
 * update to norm C and adds Gaussian noise of standard deviation σ·C to their sum; one round is
 * then one step of this mechanism with noise multiplier σ. The bound assumes Poisson sampling of
 * clients at rate q (as TF Privacy and TensorFlow Federated do for fixed-size sampling too).
 *
 * @example
 * ```ts
 * const accountant = new RdpAccountant();
 * accountant.step(0.0025, 1.3, 6000); // q, σ, steps: DP-SGD on MNIST, batch 150 of 60,000, 15 epochs
 * accountant.epsilon(1e-5); // { epsilon: 0.724…, order: 19 }, as TF Privacy computes
 * ```
 */
export class RdpAccountant {
  private readonly total: number[];

  constructor(readonly orders: readonly number[] = RDP_ORDERS) {
    this.total = orders.map(() => 0);
  }

  /** Account for `steps` steps at sampling rate `q` and noise multiplier σ. */
  step(q: number, noiseMultiplier: number, steps = 1): void {
    this.orders.forEach((a, i) => {
      this.total[i] += steps * sampledGaussianRdp(q, noiseMultiplier, a);
    });
  }

  /** The smallest ε over the tracked orders for `delta`, and the order that gives it. */
  epsilon(delta: number): { epsilon: number; order: number } {
    return epsilonFromRdp(this.orders, this.total, delta);
  }

  /** The accumulated Rényi DP per order (for a checkpoint). */
  get rdp(): readonly number[] {
    return this.total;
  }

  /** Restore accumulated Rényi DP saved from {@link RdpAccountant.rdp | rdp}. */
  restore(rdp: readonly number[]): void {
    if (rdp.length !== this.total.length)
      throw new InvalidArgumentError(`${rdp.length} RDP values for ${this.total.length} orders`, 'rdp');
    rdp.forEach((v, i) => (this.total[i] = v));
  }
}
