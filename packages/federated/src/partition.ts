import { InvalidArgumentError } from '@edgeml/core';
import { TensorDataset } from '@edgeml/distill';
import { RandomStream } from './random.js';

/** How samples are dealt to clients: uniformly at random, or non-IID by label with Dirichlet(α) proportions. */
export type PartitionScheme = 'iid' | { dirichlet: number };

export interface PartitionOptions {
  clients: number;
  scheme?: PartitionScheme;
  seed?: number;
  /** Fewest samples a client may get under a Dirichlet split; the draw is repeated until every client has them (default 1). */
  minSamples?: number;
}

/**
 * Sample indices per client. `'iid'` shuffles and deals equal shares. `{ dirichlet: α }` draws,
 * for every class, the share each client gets from Dirichlet(α, …, α) — the non-IID benchmark
 * split of Hsu, Qi and Brown (2019): small α (0.1) gives clients a few classes each, large α
 * tends to IID. Needs labels.
 */
export function partitionIndices(
  size: number,
  labels: Int32Array | undefined,
  options: PartitionOptions,
): Int32Array[] {
  const { clients } = options;
  if (!Number.isInteger(clients) || clients < 1)
    throw new InvalidArgumentError(`clients must be a positive integer, got ${clients}`, 'clients');
  if (clients > size) throw new InvalidArgumentError(`${clients} clients for ${size} samples`, 'clients');
  const rand = new RandomStream(options.seed ?? 1);
  const scheme = options.scheme ?? 'iid';
  if (scheme === 'iid') {
    const order = rand.choose(size, size);
    return Array.from({ length: clients }, (_, c) =>
      Int32Array.from(order.slice(Math.floor((c * size) / clients), Math.floor(((c + 1) * size) / clients))),
    );
  }
  const alpha = scheme.dirichlet;
  if (!(alpha > 0)) throw new InvalidArgumentError(`the Dirichlet α must be positive, got ${alpha}`, 'nonIid');
  if (!labels) throw new InvalidArgumentError('a non-IID split needs labelled data', 'nonIid');
  const byClass = new Map<number, number[]>();
  labels.forEach((l, i) => byClass.set(l, [...(byClass.get(l) ?? []), i]));
  const minSamples = options.minSamples ?? 1;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const parts: number[][] = Array.from({ length: clients }, () => []);
    for (const members of byClass.values()) {
      const shuffled = rand.choose(members.length, members.length).map((i) => members[i]);
      const draws = Array.from({ length: clients }, () => rand.gamma(alpha));
      const total = draws.reduce((a, b) => a + b, 0);
      let start = 0,
        cumulative = 0;
      draws.forEach((d, c) => {
        cumulative += d / total;
        const end = c === clients - 1 ? shuffled.length : Math.round(cumulative * shuffled.length);
        parts[c].push(...shuffled.slice(start, end));
        start = end;
      });
    }
    if (parts.every((p) => p.length >= minSamples)) return parts.map((p) => Int32Array.from(p).sort());
  }
  throw new InvalidArgumentError(
    `a Dirichlet(${alpha}) split left some of ${clients} clients with fewer than ${minSamples} samples in 1000 draws: raise α or lower the client count`,
    'nonIid',
  );
}

/** {@link partitionIndices} applied: one dataset per client. */
export function partitionDataset(data: TensorDataset, options: PartitionOptions): TensorDataset[] {
  return partitionIndices(data.size, data.labels, options).map((indices) => {
    const batch = data.take(indices);
    return new TensorDataset(batch.inputs, batch.labels);
  });
}
