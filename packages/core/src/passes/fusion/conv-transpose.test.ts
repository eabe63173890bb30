import { describe, expect, it } from 'vitest';
import type { Graph } from '../../ir/graph.js';
import type { Value } from '../../ir/value.js';
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
import { convAffineFusion, transposeCancellation } from './index.js';

const NCHW = [1, 3, 6, 6];
const NHWC = [1, 6, 6, 3];

function conv(g: Graph, x: Value, bias = true): Value {
  const w = g.addInitializer(g.names.value('w'), randomFeed([4, 3, 3, 3], 7, 0.5));
  const b = bias ? constant(g, 'b', [0.1, -0.2, 0.3, 0.4], [4]) : undefined;
  return op(g, 'Conv', [x, w, b], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
}

describe('per-channel affine after Conv', () => {
  it('folds Mul [4,1,1] then Add [1,4,1,1] (BatchNorm as Mul + Add) into the Conv', async () => {
    const { graph: g, x } = graphWithInput(NCHW);
    const scaled = op(g, 'Mul', [constant(g, 's', [0.5, 2, -1, 3], [4, 1, 1]), conv(g, x)]);
    const model = finish(g, op(g, 'Add', [scaled, constant(g, 't', [1, 2, 3, 4], [1, 4, 1, 1])]), 13);
    const { model: out, counts } = await fused(model, convAffineFusion);
    expect(opTypes(out)).toEqual(['Conv']);
    expect(counts.get('conv-affine')).toBe(2);
    await expectSameOutputs(model, out, { x: randomFeed(NCHW) });
  });

  it("folds tf2onnx's bias Add and a scalar scale into a bias-less Conv", async () => {
    const { graph: g, x } = graphWithInput(NCHW);
    const y = op(g, 'Div', [
      op(g, 'Add', [conv(g, x, false), constant(g, 't', [1, 2, 3, 4], [4, 1, 1])]),
      constant(g, 'd', [4]),
    ]);
    const model = finish(g, y, 13);
    const { model: out } = await fused(model, convAffineFusion);
    expect(opTypes(out)).toEqual(['Conv']);
    await expectSameOutputs(model, out, { x: randomFeed(NCHW) });
  });

  it('leaves a constant that varies along width ([4] on NCHW), and a Conv output read twice, alone', async () => {
    const { graph: g, x } = graphWithInput(NCHW);
    const model = finish(g, op(g, 'Add', [conv(g, x), constant(g, 't', [1, 2, 3, 4, 5, 6], [6])]), 13);
    expect(opTypes((await fused(model, convAffineFusion)).model)).toEqual(['Conv', 'Add']);

    const shared = graphWithInput(NCHW);
    const c = conv(shared.graph, shared.x);
    const sum = op(shared.graph, 'Add', [op(shared.graph, 'Mul', [c, constant(shared.graph, 's', [2])]), c]);
    const twice = finish(shared.graph, sum, 13);
    expect(opTypes((await fused(twice, convAffineFusion)).model)).toEqual(['Conv', 'Mul', 'Add']);
  });
});

/** tf2onnx's NHWC wrapping: Transpose(NHWC→NCHW) → Conv → Transpose(NCHW→NHWC). */
function nhwcConv(g: Graph, x: Value): Value {
  const nchw = op(g, 'Transpose', [x], { perm: [0, 3, 1, 2] });
  return op(g, 'Transpose', [conv(g, nchw)], { perm: [0, 2, 3, 1] });
}

describe('transposes', () => {
  it('cancels the pair between two tf2onnx NHWC convolutions, through a Relu', async () => {
    const { graph: g, x } = graphWithInput(NHWC);
    const first = op(g, 'Relu', [nhwcConv(g, x)]);
    const w2 = g.addInitializer('w2', randomFeed([3, 4, 1, 1], 9, 0.5));
    const back = op(g, 'Transpose', [first], { perm: [0, 3, 1, 2] });
    const y = op(g, 'Transpose', [op(g, 'Conv', [back, w2], { kernel_shape: [1, 1] })], { perm: [0, 2, 3, 1] });
    const model = finish(g, y, 13);
    const { model: out, counts } = await fused(model, transposeCancellation);
    expect(opTypes(out)).toEqual(['Transpose', 'Conv', 'Relu', 'Conv', 'Transpose']);
    expect(counts.get('transpose-cancel-through')).toBe(1);
    await expectSameOutputs(model, out, { x: randomFeed(NHWC) });
  });

  it('merges consecutive transposes and removes a pair that composes to the identity', async () => {
    const { graph: g, x } = graphWithInput([2, 3, 4, 5]);
    const a = op(g, 'Transpose', [op(g, 'Transpose', [x], { perm: [0, 2, 3, 1] })], { perm: [0, 3, 1, 2] });
    const model = finish(g, op(g, 'Transpose', [op(g, 'Relu', [a])], { perm: [3, 2, 1, 0] }), 13);
    const { model: out } = await fused(model, transposeCancellation);
    expect(opTypes(out)).toEqual(['Relu', 'Transpose']);
    await expectSameOutputs(model, out, { x: randomFeed([2, 3, 4, 5]) });
  });

  it('moves an NHWC bias before the transpose so it folds into the Conv', async () => {
    const { graph: g, x } = graphWithInput(NHWC);
    const y = op(g, 'Add', [nhwcConv(g, x), constant(g, 'bias', [1, 2, 3, 4], [4])]);
    const model = finish(g, y, 13);
    const { model: out } = await fused(model, (counts) => ({
      name: 'both',
      inPlace: true,
      run: async (m) => {
        const a = await transposeCancellation(counts).run(m);
        const b = await convAffineFusion(counts).run(m);
        return { model: m, modified: a.modified || b.modified };
      },
    }));
    expect(opTypes(out)).toEqual(['Transpose', 'Conv', 'Transpose']);
    await expectSameOutputs(model, out, { x: randomFeed(NHWC) });
  });

  it('keeps a graph output between two transposes', async () => {
    const { graph: g, x } = graphWithInput([2, 3, 4]);
    const t = op(g, 'Transpose', [x], { perm: [0, 2, 1] });
    const model = finish(g, op(g, 'Transpose', [t], { perm: [0, 2, 1] }), 13);
    t.name = 'middle';
    model.graph.outputs.push(t);
    const { model: out } = await fused(model, transposeCancellation);
    expect(out.graph.outputs.map((v) => v.name)).toEqual(['y', 'middle']);
    await expectSameOutputs(model, out, { x: randomFeed([2, 3, 4]) });
  });
});
