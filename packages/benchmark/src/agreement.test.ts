import { describe, expect, it } from 'vitest';
import { Tensor } from '@edgeml/core';
import { outputAgreement } from './agreement.js';

const f32 = (dims: number[], v: number[]) => Tensor.from('float32', dims, v);

describe('outputAgreement', () => {
  it('is exact for identical outputs', () => {
    const a = { y: f32([2, 3], [1, 2, 3, 4, 5, 6]) };
    expect(outputAgreement([a], [a])).toEqual([
      { output: 'y', maxAbsDiff: 0, meanAbsDiff: 0, cosineSimilarity: 1, top1Agreement: 1, elements: 6 },
    ]);
  });

  it('computes max/mean difference and cosine on known vectors', () => {
    const [r] = outputAgreement([{ y: f32([3, 1], [1, 2, 3]) }], [{ y: f32([3, 1], [1, 2, 4]) }]);
    expect(r.maxAbsDiff).toBe(1);
    expect(r.meanAbsDiff).toBeCloseTo(1 / 3, 12);
    expect(r.cosineSimilarity).toBeCloseTo(17 / Math.sqrt(14 * 21), 12);
    expect(r.top1Agreement).toBeUndefined(); // last dimension 1: not class scores
  });

  it('counts rows whose arg-max agrees, across input sets', () => {
    const base = [{ p: f32([2, 2], [0.1, 0.9, 0.8, 0.2]) }, { p: f32([1, 2], [0.3, 0.7]) }];
    const cand = [{ p: f32([2, 2], [0.6, 0.4, 0.7, 0.3]) }, { p: f32([1, 2], [0.2, 0.8]) }];
    const [r] = outputAgreement(base, cand);
    expect(r.top1Agreement).toBeCloseTo(2 / 3, 12);
    expect(r.elements).toBe(6);
  });

  it('treats NaN, missing outputs and shape changes as disagreement', () => {
    expect(outputAgreement([{ y: f32([2], [1, 2]) }], [{ y: f32([2], [1, NaN]) }])[0].maxAbsDiff).toBe(Infinity);
    expect(outputAgreement([{ y: f32([2], [1, 2]) }], [{ z: f32([2], [1, 2]) }])[0].maxAbsDiff).toBe(Infinity);
    expect(outputAgreement([{ y: f32([2], [1, 2]) }], [{ y: f32([1, 2], [1, 2]) }])[0].maxAbsDiff).toBe(Infinity);
  });

  it('compares integer outputs by value and leaves no top-1 for them', () => {
    const [r] = outputAgreement(
      [{ k: Tensor.from('int64', [1, 3], [1n, 5n, 2n]) }],
      [{ k: Tensor.from('int64', [1, 3], [1n, 4n, 2n]) }],
    );
    expect(r.maxAbsDiff).toBe(1);
    expect(r.top1Agreement).toBeUndefined();
  });
});

describe('top-1 agreement', () => {
  it('applies only to [batch, classes] outputs, not to recurrent state', () => {
    const state = (v: number[]) => ({ h: f32([2, 1, 2], v) });
    expect(outputAgreement([state([1, 0, 0, 1])], [state([0, 1, 1, 0])])[0].top1Agreement).toBeUndefined();
  });
});
