import { describe, expect, it } from 'vitest';
import type { Graph } from '../../ir/graph.js';
import type { Value } from '../../ir/value.js';
import { Tensor } from '../../tensor/tensor.js';
import {
  constant,
  expectSameOutputs,
  finish,
  fused,
  graphWithInput,
  op,
  opTypes,
  randomFeed,
} from '../../testing/fusion-check.js';
import { normalizationFusion } from './index.js';

const SHAPE = [2, 5, 8];
const feeds = { x: randomFeed(SHAPE) };

function axes(g: Graph, values: number[]): Value {
  return g.addInitializer(g.names.value('axes'), Tensor.from('int64', [values.length], values.map(BigInt)));
}

/** ReduceMean with its axes as an attribute (before opset 18) or an input. */
function mean(g: Graph, v: Value, opset: number, over: number[]): Value {
  return opset >= 18 ? op(g, 'ReduceMean', [v, axes(g, over)]) : op(g, 'ReduceMean', [v], { axes: over });
}

interface LayerNormIdiom {
  opset: number;
  over?: number[];
  square?: 'pow' | 'mul';
  exponent?: number;
  affine?: boolean;
}

/** PyTorch's decomposed LayerNorm: (x − mean) / √(mean((x − mean)²) + eps) · γ + β. */
function layerNorm({ opset, over = [-1], square = 'pow', exponent = 2, affine = true }: LayerNormIdiom) {
  const { graph: g, x } = graphWithInput(SHAPE);
  const d = op(g, 'Sub', [x, mean(g, x, opset, over)]);
  const sq = square === 'pow' ? op(g, 'Pow', [d, constant(g, 'two', [exponent])]) : op(g, 'Mul', [d, d]);
  const std = op(g, 'Sqrt', [op(g, 'Add', [mean(g, sq, opset, over), constant(g, 'eps', [1e-5])])]);
  let y = op(g, 'Div', [d, std]);
  if (affine) {
    const gamma = constant(
      g,
      'gamma',
      Array.from({ length: 8 }, (_, i) => 0.5 + i / 8),
      [8],
    );
    const beta = constant(
      g,
      'beta',
      Array.from({ length: 8 }, (_, i) => i / 4 - 1),
      [8],
    );
    y = op(g, 'Add', [op(g, 'Mul', [y, gamma]), beta]);
  }
  return finish(g, y, opset);
}

describe('layer normalization', () => {
  it('fuses the decomposed form with γ and β into one LayerNormalization at opset 17', async () => {
    const model = layerNorm({ opset: 17 });
    const { model: out, counts } = await fused(model, normalizationFusion);
    expect(opTypes(out)).toEqual(['LayerNormalization']);
    expect(counts.get('layer-normalization')).toBe(1);
    expect(counts.get('layer-normalization-affine')).toBe(2);
    await expectSameOutputs(model, out, feeds);
  });

  it('fuses Mul(d, d) for the square, axes as an input (opset 18), positive axes, no γ/β', async () => {
    for (const model of [
      layerNorm({ opset: 18, square: 'mul' }),
      layerNorm({ opset: 17, over: [2], affine: false }),
      layerNorm({ opset: 17, over: [-2, -1] }),
    ]) {
      const { model: out } = await fused(model, normalizationFusion);
      expect(opTypes(out)).toEqual(['LayerNormalization']);
      await expectSameOutputs(model, out, feeds);
    }
  });

  it('leaves it alone below opset 17, over a leading axis, or with Pow 3', async () => {
    for (const model of [
      layerNorm({ opset: 13 }),
      layerNorm({ opset: 17, over: [1] }),
      layerNorm({ opset: 17, exponent: 3 }),
    ]) {
      const { model: out } = await fused(model, normalizationFusion);
      expect(opTypes(out)).toEqual(opTypes(model));
    }
  });

  it('does not fuse when the centred value is also read elsewhere', async () => {
    const model = layerNorm({ opset: 17, affine: false });
    const sub = model.graph.nodes.find((n) => n.opType === 'Sub')!.outputs[0];
    sub.name = 'centred';
    model.graph.outputs.push(sub);
    const { model: out } = await fused(model, normalizationFusion);
    expect(opTypes(out)).toEqual(opTypes(model));
  });
});

describe('softmax', () => {
  function softmax(opset: number, axis: number, stable: boolean, sumAxis = axis) {
    const { graph: g, x } = graphWithInput(SHAPE);
    const reduce = (o: string, v: Value, a: number) =>
      (o === 'ReduceSum' ? opset >= 13 : opset >= 18) ? op(g, o, [v, axes(g, [a])]) : op(g, o, [v], { axes: [a] });
    const z = stable ? op(g, 'Sub', [x, reduce('ReduceMax', x, axis)]) : x;
    const e = op(g, 'Exp', [z]);
    return finish(g, op(g, 'Div', [e, reduce('ReduceSum', e, sumAxis)]), opset);
  }

  it('fuses exp / Σexp, with or without the max subtracted, into Softmax on that axis', async () => {
    for (const [opset, axis, stable] of [
      [13, 1, true],
      [13, -1, false],
      [18, -1, true],
      [11, 2, true],
    ] as const) {
      const model = softmax(opset, axis, stable);
      const { model: out } = await fused(model, normalizationFusion);
      expect(opTypes(out)).toEqual(['Softmax']);
      expect(out.graph.nodes[0].attr('axis', 'int')).toBe((axis + SHAPE.length) % SHAPE.length);
      await expectSameOutputs(model, out, feeds);
    }
  });

  it('leaves a non-last axis before opset 13 alone (Softmax flattened from its axis then)', async () => {
    const model = softmax(11, 1, false);
    expect(opTypes((await fused(model, normalizationFusion)).model)).toEqual(opTypes(model));
  });

  it('keeps a max subtracted over another axis than the sum: it does not cancel', async () => {
    const model = softmax(13, 1, true, 2);
    const { model: out } = await fused(model, normalizationFusion);
    expect(opTypes(out)).toEqual(['ReduceMax', 'Sub', 'Softmax']);
    await expectSameOutputs(model, out, feeds);
  });
});
