import { describe, expect, it } from 'vitest';
import { attr } from '../../ir/attribute.js';
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
import { activationFusion } from './index.js';

const SHAPE = [2, 3, 4, 5];
const feeds = { x: randomFeed(SHAPE) };

/** clip(x + 3, 0, 6) with Clip's bounds as inputs (opset 11+) or attributes (before). */
function relu6(g: Graph, x: Value, opset: number, add = 3, hi = 6): Value {
  const shifted = op(g, 'Add', [x, constant(g, 'three', [add])]);
  if (opset < 11) return op(g, 'Clip', [shifted], [attr('min', 'float', 0), attr('max', 'float', hi)]);
  return op(g, 'Clip', [shifted, constant(g, 'zero', [0]), constant(g, 'six', [hi])]);
}

/** PyTorch's traced hard-swish: x * relu6(x + 3) / 6. */
function torchHardSwish(opset: number, divisor = 6, add = 3) {
  const { graph: g, x } = graphWithInput(SHAPE);
  const y = op(g, 'Div', [op(g, 'Mul', [x, relu6(g, x, opset, add)]), constant(g, 'd', [divisor])]);
  return finish(g, y, opset);
}

describe('hard-swish', () => {
  it('fuses x * clip(x + 3, 0, 6) / 6 into HardSwish at opset 14, same outputs on onnxruntime', async () => {
    const model = torchHardSwish(14);
    const { model: out, counts } = await fused(model, activationFusion);
    expect(opTypes(out)).toEqual(['HardSwish']);
    expect(counts.get('hard-swish')).toBe(1);
    await expectSameOutputs(model, out, feeds);
  });

  it('writes x * HardSigmoid(x) below opset 14 (two nodes for four), with Clip attributes at opset 10', async () => {
    for (const opset of [10, 13]) {
      const model = torchHardSwish(opset);
      const { model: out } = await fused(model, activationFusion);
      expect(opTypes(out)).toEqual(['HardSigmoid', 'Mul']);
      expect(out.graph.nodes[0].attr('alpha', 'float')).toBeCloseTo(1 / 6, 7);
      await expectSameOutputs(model, out, feeds);
    }
  });

  it('matches the factors in any order: x * (relu6(x + 3) * 0.16667) with relu6 as Min(Relu(.), 6)', async () => {
    const { graph: g, x } = graphWithInput(SHAPE);
    const r = op(g, 'Min', [op(g, 'Relu', [op(g, 'Add', [constant(g, 'three', [3]), x])]), constant(g, 'six', [6])]);
    const y = op(g, 'Mul', [x, op(g, 'Mul', [r, constant(g, 'sixth', [0.16667])])]);
    const model = finish(g, y, 14);
    const { model: out } = await fused(model, activationFusion);
    expect(opTypes(out)).toEqual(['HardSwish']);
    // 0.16667 is 1/6 rounded to 5 digits: the fused op's exact 1/6 differs by that rounding (2e-5).
    await expectSameOutputs(model, out, feeds, 3e-5);
  });

  it('fuses Clip(x * a + b, 0, 1) into HardSigmoid(a, b) and then x * HardSigmoid(x) into HardSwish', async () => {
    const { graph: g, x } = graphWithInput(SHAPE);
    const affine = op(g, 'Add', [op(g, 'Mul', [x, constant(g, 'a', [1 / 6])]), constant(g, 'b', [0.5])]);
    const hs = op(g, 'Clip', [affine, constant(g, 'zero', [0]), constant(g, 'one', [1])]);
    const model = finish(g, op(g, 'Mul', [hs, x]), 14);
    const { model: out, counts } = await fused(model, activationFusion);
    expect(opTypes(out)).toEqual(['HardSwish']);
    expect([counts.get('hard-sigmoid'), counts.get('hard-swish')]).toEqual([1, 1]);
    await expectSameOutputs(model, out, feeds);
  });

  it('does not fuse near misses: a divisor of 6.1, an offset of 3.1, a scale of 0.17', async () => {
    for (const model of [torchHardSwish(14, 6.1), torchHardSwish(14, 6, 3.1)]) {
      const { model: out } = await fused(model, activationFusion);
      expect(opTypes(out)).toEqual(opTypes(model));
    }
    const { graph: g, x } = graphWithInput(SHAPE);
    const y = op(g, 'Mul', [op(g, 'Mul', [x, relu6(g, x, 14)]), constant(g, 's', [0.17])]);
    const model = finish(g, y, 14);
    expect(opTypes((await fused(model, activationFusion)).model)).toEqual(opTypes(model));
  });

  it('does not fuse when an intermediate has another reader or is a graph output', async () => {
    const model = torchHardSwish(14);
    const clip = model.graph.nodes.find((n) => n.opType === 'Clip')!.outputs[0];
    clip.name = 'clip_out';
    model.graph.outputs.push(clip);
    const { model: out } = await fused(model, activationFusion);
    expect(opTypes(out)).toEqual(opTypes(model));
    await expectSameOutputs(model, out, feeds);

    const { graph: g, x } = graphWithInput(SHAPE);
    const shifted = op(g, 'Add', [x, constant(g, 'three', [3])]);
    const r = op(g, 'Clip', [shifted, constant(g, 'zero', [0]), constant(g, 'six', [6])]);
    const hsw = op(g, 'Div', [op(g, 'Mul', [x, r]), constant(g, 'd', [6])]);
    const shared = finish(g, op(g, 'Add', [hsw, shifted]), 14); // x + 3 read outside the idiom
    expect(opTypes((await fused(shared, activationFusion)).model)).toEqual(opTypes(shared));
  });

  it('does not fuse when a [1,1,1,1,1] constant would broadcast the result to a higher rank', async () => {
    const { graph: g, x } = graphWithInput(SHAPE);
    const y = op(g, 'Div', [op(g, 'Mul', [x, relu6(g, x, 14)]), constant(g, 'd', [6], [1, 1, 1, 1, 1])]);
    const model = finish(g, y, 14);
    expect(opTypes((await fused(model, activationFusion)).model)).toEqual(opTypes(model));
  });
});

describe('swish and gelu', () => {
  function silu(opset: number) {
    const { graph: g, x } = graphWithInput(SHAPE);
    return finish(g, op(g, 'Mul', [op(g, 'Sigmoid', [x]), x]), opset);
  }

  it('leaves x * Sigmoid(x) alone before opset 24, which has no Swish op', async () => {
    const model = silu(21);
    expect(opTypes((await fused(model, activationFusion)).model)).toEqual(['Sigmoid', 'Mul']);
  });

  it('fuses x * Sigmoid(x) into Swish at opset 24', async () => {
    const model = silu(24);
    const { model: out } = await fused(model, activationFusion);
    expect(opTypes(out)).toEqual(['Swish']);
    await expectSameOutputs(model, out, feeds);
  });

  /** PyTorch's erf GELU: x * (erf(x / √2) + 1) * 0.5. */
  function erfGelu(opset: number, root2 = Math.SQRT2) {
    const { graph: g, x } = graphWithInput(SHAPE);
    const erf = op(g, 'Erf', [op(g, 'Div', [x, constant(g, 'root2', [root2])])]);
    const y = op(g, 'Mul', [
      op(g, 'Mul', [x, op(g, 'Add', [erf, constant(g, 'one', [1])])]),
      constant(g, 'half', [0.5]),
    ]);
    return finish(g, y, opset);
  }

  it('fuses the erf formula into Gelu at opset 20 and not below; √2 must be √2', async () => {
    const model = erfGelu(20);
    const { model: out, counts } = await fused(model, activationFusion);
    expect(opTypes(out)).toEqual(['Gelu']);
    expect(counts.get('gelu')).toBe(1);
    await expectSameOutputs(model, out, feeds);
    expect(opTypes((await fused(erfGelu(19), activationFusion)).model)).toEqual(opTypes(erfGelu(19)));
    expect(opTypes((await fused(erfGelu(20, 1.5), activationFusion)).model)).toEqual(opTypes(erfGelu(20, 1.5)));
  });

  it("fuses the tanh formula into Gelu(approximate='tanh')", async () => {
    const { graph: g, x } = graphWithInput(SHAPE);
    const cube = op(g, 'Mul', [op(g, 'Pow', [x, constant(g, 'three', [3])]), constant(g, 'k', [0.044715])]);
    const inner = op(g, 'Mul', [op(g, 'Add', [x, cube]), constant(g, 'c', [Math.sqrt(2 / Math.PI)])]);
    const onePlus = op(g, 'Add', [op(g, 'Tanh', [inner]), constant(g, 'one', [1])]);
    const model = finish(g, op(g, 'Mul', [op(g, 'Mul', [x, constant(g, 'half', [0.5])]), onePlus]), 20);
    const { model: out } = await fused(model, activationFusion);
    expect(opTypes(out)).toEqual(['Gelu']);
    expect(out.graph.nodes[0].attr('approximate', 'string')).toBe('tanh');
    await expectSameOutputs(model, out, feeds);
  });
});
