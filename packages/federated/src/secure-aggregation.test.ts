import { describe, expect, it } from 'vitest';
import { seededRandom } from '@edgeml/core';
import { SecureAggregationClient, unmaskSum } from './secure-aggregation.js';
import { decodeUpdate, encodeUpdate } from './compression.js';

const vector = (seed: number, n: number) => {
  const r = seededRandom(seed);
  return Float64Array.from({ length: n }, () => (r() - 0.5) * 20);
};

describe('secure aggregation by pairwise masking', () => {
  it('masks cancel in the sum; one masked input alone says nothing of its values', async () => {
    const n = 1000;
    const clients = await Promise.all([0, 1, 2, 3].map((id) => SecureAggregationClient.create(id)));
    const keys = new Map(clients.map((c) => [c.id, c.publicKey]));
    const values = clients.map((c) => vector(c.id + 1, n));
    const masked = new Map(
      await Promise.all(clients.map(async (c, i) => [c.id, await c.maskedInput(values[i], keys)] as const)),
    );
    const sum = await unmaskSum(masked);
    const plain = Float64Array.from({ length: n }, (_, j) => values.reduce((s, v) => s + v[j], 0));
    for (let j = 0; j < n; j++) expect(Math.abs(sum[j] - plain[j])).toBeLessThan(4 * 2 ** -24);
    // A masked value is a uniform 48-bit integer, nothing like the fixed-point input.
    const single = masked.get(0)!;
    const unmasked = Array.from(values[0], (v) => (Math.round(v * 2 ** 24) + 2 ** 48) % 2 ** 48);
    expect(single.filter((v, j) => v === unmasked[j]).length).toBe(0);
    expect(Math.max(...single)).toBeGreaterThan(2 ** 46);
  });

  it('recovers the sum when a client drops after the keys were exchanged (survivors reveal its pair secrets)', async () => {
    const n = 300;
    const clients = await Promise.all([0, 1, 2, 3, 4].map((id) => SecureAggregationClient.create(id)));
    const keys = new Map(clients.map((c) => [c.id, c.publicKey]));
    const survivors = clients.filter((c) => c.id !== 2);
    const masked = new Map(
      await Promise.all(survivors.map(async (c) => [c.id, await c.maskedInput(vector(c.id + 1, n), keys)] as const)),
    );
    const withoutRecovery = await unmaskSum(masked);
    const plain = Float64Array.from({ length: n }, (_, j) => survivors.reduce((s, c) => s + vector(c.id + 1, n)[j], 0));
    expect(Math.abs(withoutRecovery[0] - plain[0])).toBeGreaterThan(1);
    const dropped = new Map([[2, keys.get(2)!]]);
    const revealed = new Map(
      await Promise.all(survivors.map(async (c) => [c.id, await c.revealSecrets(dropped)] as const)),
    );
    const recovered = await unmaskSum(masked, revealed);
    for (let j = 0; j < n; j++) expect(Math.abs(recovered[j] - plain[j])).toBeLessThan(4 * 2 ** -24);
  });

  it('refuses values past its fixed-point range', async () => {
    const c = await SecureAggregationClient.create(0);
    await expect(c.maskedInput([2 ** 24], new Map())).rejects.toThrow(/range/);
  });
});

describe('update compression', () => {
  const values = vector(9, 2000);

  it('int8 is 4x smaller with error at most half a step; top-k keeps the largest values exactly', () => {
    const int8 = encodeUpdate(values, { quantize: 'int8' });
    expect(int8.length).toBe(1 + 4 + 4 + 2000);
    const step = Math.max(...values.map(Math.abs)) / 127;
    decodeUpdate(int8, 2000).forEach((v, i) => expect(Math.abs(v - values[i])).toBeLessThanOrEqual(step / 2 + 1e-6));

    const top = encodeUpdate(values, { topK: 0.1 });
    expect(top.length).toBe(1 + 4 + 4 + 200 * 8);
    const decoded = decodeUpdate(top, 2000);
    const threshold = [...values].map(Math.abs).sort((a, b) => b - a)[199];
    decoded.forEach((v, i) =>
      Math.abs(values[i]) >= threshold ? expect(v).toBeCloseTo(values[i], 4) : expect(v).toBe(0),
    );
    expect(encodeUpdate(values, { topK: 0.1, quantize: 'int8' }).length).toBe(1 + 4 + 4 + 200 * 4 + 4 + 200);
  });

  it('rejects malformed bytes with a clear error', () => {
    const good = encodeUpdate(values, { topK: 0.05 });
    expect(() => decodeUpdate(good.subarray(0, 20), 2000)).toThrow(/bytes/);
    expect(() => decodeUpdate(good, 1999)).toThrow(/holds 2000 values; the model has 1999/);
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(9, 5000, true);
    expect(() => decodeUpdate(bad, 2000)).toThrow(/position 5000/);
    expect(() => encodeUpdate(values, { topK: 0 })).toThrow(/topK/);
  });
});
