import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor/tensor.js';
import {
  constant,
  expectSameOutputs,
  finish,
  graphWithInput,
  op,
  opTypes,
  randomFeed,
} from '../testing/fusion-check.js';
import { foldConstants } from './constant-folding.js';
import { dedupeInitializers } from './dedupe-initializers.js';
import { simplify } from './simplify.js';

describe('constant folding never grows the model', () => {
  it('leaves ConstantOfShape over a [1,64,80,80] shape as a node, folds a small one and a weight Transpose', async () => {
    const { graph: g, x } = graphWithInput([1, 64, 80, 80]);
    const shape = (dims: number[]) =>
      g.addInitializer(g.names.value('shape'), Tensor.from('int64', [4], dims.map(BigInt)));
    const big = op(g, 'ConstantOfShape', [shape([1, 64, 80, 80])], { value: Tensor.from('float32', [1], [1]) });
    const small = op(g, 'ConstantOfShape', [shape([1, 64, 1, 1])], { value: Tensor.from('float32', [1], [2]) });
    const w = op(g, 'Transpose', [g.addInitializer('w', randomFeed([64, 80], 2))], { perm: [1, 0] });
    const y = op(g, 'Add', [op(g, 'Mul', [op(g, 'Add', [x, big]), small]), op(g, 'ReduceSum', [w], { keepdims: 0 })]);
    const model = finish(g, y, 13);
    expect(foldConstants(model.graph, 13)).toBe(2);
    expect(opTypes(model)).toEqual(['ConstantOfShape', 'Add', 'Mul', 'ReduceSum', 'Add']);
    // The old default (no growth bound) would have folded the 409,600-element tensor.
    expect(foldConstants(model.graph, 13, { maxGrowthElements: Infinity })).toBeGreaterThan(0);
  });
});

describe('initializer deduplication', () => {
  it('merges equal initializers (dtype, dims and bytes), keeps near twins, drops unused ones', () => {
    const { graph: g, x } = graphWithInput([2, 3]);
    const a = constant(g, 'a', [1, 2, 3], [3]);
    const b = constant(g, 'b', [1, 2, 3], [3]);
    const c = constant(g, 'c', [1, 2, 3.0001], [3]);
    const d = constant(g, 'd', [1, 2, 3], [1, 3]);
    constant(g, 'unused', [5]);
    const y = op(g, 'Add', [op(g, 'Add', [op(g, 'Add', [op(g, 'Add', [x, a]), b]), c]), d]);
    const model = finish(g, y, 13);
    expect(dedupeInitializers(model.graph)).toEqual({ merged: 1, unused: 1 });
    expect([...model.graph.initializers.keys()].sort()).toEqual(['a', 'c', 'd']);
    expect(model.graph.nodes[1].inputs[1]).toBe(a);
  });
});

describe('simplify', () => {
  it('reports before/after figures and each rewrite, and leaves its input as it was', async () => {
    const { graph: g, x } = graphWithInput(['batch', 3, 4, 4]);
    const shifted = op(g, 'Add', [x, constant(g, 'three', [3])]);
    const r6 = op(g, 'Clip', [shifted, constant(g, 'zero', [0]), constant(g, 'six', [6])]);
    const hs = op(g, 'Div', [op(g, 'Mul', [x, r6]), constant(g, 'six_again', [6])]);
    const t = op(g, 'Transpose', [op(g, 'Transpose', [hs], { perm: [0, 2, 3, 1] })], { perm: [0, 3, 1, 2] });
    const model = finish(g, op(g, 'Relu', [t]), 14);
    const { model: out, report } = await simplify(model, { shapes: { x: [2, 3, 4, 4] } });
    expect(opTypes(out)).toEqual(['HardSwish', 'Relu']);
    expect(report.before.nodes).toBe(7);
    expect(report.after.nodes).toBe(2);
    expect(report.rewrites).toMatchObject({ 'hard-swish': 1, 'transpose-merge': 1 });
    expect(report.after.sizeBytes).toBeLessThan(report.before.sizeBytes);
    expect(model.graph.size).toBe(7);
    expect(out.graph.inputs[0].shape).toEqual([2, 3, 4, 4]);
    await expectSameOutputs(model, out, { x: randomFeed([2, 3, 4, 4]) });
  });
});
