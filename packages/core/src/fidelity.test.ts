import { describe, expect, it } from 'vitest';
import { Tensor } from './tensor/tensor.js';
import { editDistance, measureFidelity, toleranceMismatch } from './fidelity.js';

const f32 = (dims: number[], v: number[]) => Tensor.from('float32', dims, v);

describe('measureFidelity', () => {
  it('is exact for identical outputs', () => {
    const a = { y: f32([2, 3], [1, 2, 3, 4, 5, 6]) };
    expect(measureFidelity([a], [a])).toEqual([
      {
        output: 'y',
        maxAbsDiff: 0,
        meanAbsDiff: 0,
        sqnrDb: Infinity,
        cosineSimilarity: 1,
        top1Agreement: 1,
        elements: 6,
      },
    ]);
  });

  it('computes max/mean difference and cosine on known vectors', () => {
    const [r] = measureFidelity([{ y: f32([3, 1], [1, 2, 3]) }], [{ y: f32([3, 1], [1, 2, 4]) }]);
    expect(r.maxAbsDiff).toBe(1);
    expect(r.meanAbsDiff).toBeCloseTo(1 / 3, 12);
    expect(r.cosineSimilarity).toBeCloseTo(17 / Math.sqrt(14 * 21), 12);
    expect(r.top1Agreement).toBeUndefined(); // last dimension 1: not class scores
  });

  it('counts rows whose arg-max agrees, across input sets', () => {
    const base = [{ p: f32([2, 2], [0.1, 0.9, 0.8, 0.2]) }, { p: f32([1, 2], [0.3, 0.7]) }];
    const cand = [{ p: f32([2, 2], [0.6, 0.4, 0.7, 0.3]) }, { p: f32([1, 2], [0.2, 0.8]) }];
    const [r] = measureFidelity(base, cand);
    expect(r.top1Agreement).toBeCloseTo(2 / 3, 12);
    expect(r.elements).toBe(6);
  });

  it('treats NaN, missing outputs and shape changes as disagreement', () => {
    expect(measureFidelity([{ y: f32([2], [1, 2]) }], [{ y: f32([2], [1, NaN]) }])[0].maxAbsDiff).toBe(Infinity);
    expect(measureFidelity([{ y: f32([2], [1, 2]) }], [{ z: f32([2], [1, 2]) }])[0].maxAbsDiff).toBe(Infinity);
    expect(measureFidelity([{ y: f32([2], [1, 2]) }], [{ y: f32([1, 2], [1, 2]) }])[0].maxAbsDiff).toBe(Infinity);
  });

  it('compares integer outputs by value and leaves no top-1 for them', () => {
    const [r] = measureFidelity(
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
    expect(measureFidelity([state([1, 0, 0, 1])], [state([0, 1, 1, 0])])[0].top1Agreement).toBeUndefined();
  });
});

describe('fidelity extras', () => {
  it('reports SQNR and the mean of a user metric', () => {
    const ref = [{ y: f32([4], [1, -1, 2, -2]) }, { y: f32([4], [0, 1, 0, 1]) }];
    const cand = [{ y: f32([4], [1, -1, 2, 1]) }, { y: f32([4], [0, 1, 0, 1]) }];
    const positives = (t: Tensor) => t.toNumbers().map((v) => v > 0);
    const iou = (a: Tensor, b: Tensor) => {
      const [p, q] = [positives(a), positives(b)];
      const inter = p.filter((v, i) => v && q[i]).length;
      const union = p.filter((v, i) => v || q[i]).length;
      return union ? inter / union : 1;
    };
    const [r] = measureFidelity(ref, cand, { metric: iou });
    // Σref² = 10 + 2, Σ(ref−cand)² = 9; IoU of the positives: 2/3, then 1.
    expect(r.sqnrDb).toBeCloseTo(10 * Math.log10(12 / 9), 12);
    expect(r.metric).toBeCloseTo(5 / 6, 12);
  });

  it('judges closeness as the ONNX backend tests do', () => {
    expect(toleranceMismatch(f32([2], [1, 2.001]), f32([2], [1, 2]))).toBeUndefined();
    expect(toleranceMismatch(f32([2], [1, 2.01]), f32([2], [1, 2]))).toBe('element 1: 2.009999990463257 vs expected 2');
    expect(toleranceMismatch(f32([2], [NaN, 1]), f32([2], [NaN, 1]))).toBeUndefined();
    expect(toleranceMismatch(f32([1, 2], [1, 2]), f32([2], [1, 2]))).toBe('shape [1,2] vs expected [2]');
  });
});

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions (the textbook cases)', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('flaw', 'lawn')).toBe(2);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
    expect(editDistance([1, 2, 3], [1, 3])).toBe(1);
  });
});
