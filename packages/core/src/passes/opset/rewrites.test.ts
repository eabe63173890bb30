/**
 * Adapters that rewrite more than an attribute (renamed ops, changed semantics spelled out with
 * extra nodes, changed defaults), judged by onnxruntime-node in both directions.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../tensor/tensor.js';
import { OpsetConversionError } from '../../errors.js';
import { convertOpset } from './convert.js';
import {
  expectConversionKeepsOutputs,
  feed,
  feedsOf,
  nodeOf,
  oneNodeModel,
  type OneNodeSpec,
} from '../../../../../tests/support/opset-oracle.js';

const init = (name: string, value: Tensor) => ({ init: name, value });
const floats = (dims: number[], values: number[]) => Tensor.from('float32', dims, values);
const ops = (m: { graph: { nodes: { opType: string }[] } }) => m.graph.nodes.map((n) => n.opType);

/** Convert up to `up`, then back down to the spec's opset, each time checking outputs on onnxruntime. */
async function roundTrip(spec: OneNodeSpec, up: number) {
  const feeds = feedsOf(spec);
  const high = await expectConversionKeepsOutputs(oneNodeModel(spec), up, feeds);
  const low = await expectConversionKeepsOutputs(high, spec.opset, feeds);
  return { high, low };
}

describe('Softmax, LogSoftmax, Hardmax at 13', () => {
  for (const op of ['Softmax', 'LogSoftmax', 'Hardmax'])
    it(`${op}: a middle axis becomes Flatten → ${op} → Reshape up, which stays exact back down`, async () => {
      const { high, low } = await roundTrip(
        { op, opset: 11, inputs: [feed('x', [2, 3, 4])], attributes: { axis: 1 } },
        13,
      );
      expect(ops(high)).toEqual(['Shape', 'Flatten', op, 'Reshape']);
      // The 2-D op normalises over its last axis: the same node at both versions.
      expect(ops(low)).toEqual(['Shape', 'Flatten', op, 'Reshape']);
    });

  it('the last axis stays one node both ways', async () => {
    const { high, low } = await roundTrip({ op: 'Softmax', opset: 12, inputs: [feed('x', [2, 5])] }, 13);
    expect(ops(high)).toEqual(['Softmax']);
    expect(ops(low)).toEqual(['Softmax']);
  });

  it('a 13 softmax over a middle axis goes down to 11 as Transpose → Softmax → Transpose', async () => {
    const spec: OneNodeSpec = { op: 'Softmax', opset: 13, inputs: [feed('x', [2, 3, 4])], attributes: { axis: 1 } };
    const low = await expectConversionKeepsOutputs(oneNodeModel(spec), 11, feedsOf(spec));
    expect(ops(low)).toEqual(['Transpose', 'Softmax', 'Transpose']);
  });
});

describe('BatchNormalization and GroupNormalization', () => {
  const stats = (c: number, shift: number) =>
    init(
      `s${shift}`,
      floats(
        [c],
        Array.from({ length: c }, (_, i) => 0.5 + i + shift),
      ),
    );

  it('BatchNormalization 7 → 15 → 7 (spatial attribute, then training_mode)', async () => {
    const spec: OneNodeSpec = {
      op: 'BatchNormalization',
      opset: 7,
      inputs: [feed('x', [2, 3, 2, 2]), stats(3, 0), stats(3, 1), stats(3, 2), stats(3, 3)],
      attributes: { epsilon: 1e-3, spatial: 1 },
    };
    const { high, low } = await roundTrip(spec, 15);
    expect(nodeOf(high, 'BatchNormalization').attributes.has('spatial')).toBe(false);
    expect(nodeOf(low, 'BatchNormalization').attributes.has('training_mode')).toBe(false);
  });

  it('BatchNormalization spatial=0 (per-activation statistics) becomes the formula at 9', async () => {
    const perActivation = (seed: number) =>
      init(
        `a${seed}`,
        floats(
          [3, 2],
          [1, 2, 3, 4, 5, 6].map((v) => v * 0.1 + seed),
        ),
      );
    const spec: OneNodeSpec = {
      op: 'BatchNormalization',
      opset: 8,
      inputs: [feed('x', [4, 3, 2]), perActivation(1), perActivation(0), perActivation(0.5), perActivation(2)],
      attributes: { spatial: 0 },
    };
    const high = await expectConversionKeepsOutputs(oneNodeModel(spec), 9, feedsOf(spec));
    expect(ops(high)).toEqual(['Sub', 'Add', 'Sqrt', 'Div', 'Mul', 'Add']);
  });

  it('BatchNormalization 14 → 13 refuses training_mode=1', () => {
    const spec: OneNodeSpec = {
      op: 'BatchNormalization',
      opset: 14,
      inputs: [feed('x', [2, 3]), stats(3, 0), stats(3, 1), stats(3, 2), stats(3, 3)],
      attributes: { training_mode: 1 },
    };
    expect(() => convertOpset(oneNodeModel(spec), 13)).toThrow(OpsetConversionError);
  });

  const groupNorm = (scale: number[], bias: number[]): OneNodeSpec => ({
    op: 'GroupNormalization',
    opset: 18,
    inputs: [
      feed('x', [2, 4, 3]),
      init('scale', floats([scale.length], scale)),
      init('bias', floats([bias.length], bias)),
    ],
    attributes: { num_groups: 2 },
  });

  it('GroupNormalization 18 → 21 repeats per-group scale and bias per channel, and folds them back', async () => {
    const { high, low } = await roundTrip(groupNorm([0.5, 2], [1, -1]), 21);
    expect(Array.from(nodeOf(high, 'GroupNormalization').inputs[1]!.const!.toFloat64())).toEqual([0.5, 0.5, 2, 2]);
    expect(Array.from(nodeOf(low, 'GroupNormalization').inputs[1]!.const!.toFloat64())).toEqual([0.5, 2]);
  });

  it('GroupNormalization 21 → 20 with scale varying inside a group: unit affine, then per-channel Mul and Add', async () => {
    const spec = { ...groupNorm([1, 2, 3, 4], [0, 0.5, 1, 1.5]), opset: 21 };
    const low = await expectConversionKeepsOutputs(oneNodeModel(spec), 20, feedsOf(spec));
    expect(ops(low)).toEqual(['GroupNormalization', 'Reshape', 'Reshape', 'Mul', 'Add']);
  });
});

describe('Resize and Upsample', () => {
  const resize10 = (mode: string, scales: number[]): OneNodeSpec => ({
    op: 'Resize',
    opset: 10,
    inputs: [feed('x', [1, 1, 4, 4]), init('scales', floats([4], scales))],
    attributes: { mode },
  });

  for (const [mode, scales, nearest] of [
    ['nearest', [1, 1, 2, 3], 'floor'],
    ['nearest', [1, 1, 0.5, 0.75], 'ceil'],
    ['linear', [1, 1, 2, 1.5], undefined],
  ] as const)
    it(`Resize-10 ${mode} ×${scales.join('×')} → 19 (asymmetric coordinates${nearest ? `, ${nearest}` : ''}) and back`, async () => {
      const { high } = await roundTrip(resize10(mode, [...scales]), 19);
      const node = nodeOf(high, 'Resize');
      expect(node.attr('coordinate_transformation_mode', 'string')).toBe('asymmetric');
      expect(node.attr('nearest_mode', 'string')).toBe(nearest);
    });

  it('Resize-10 below 10 is Upsample-9, and Upsample-7 below 9', async () => {
    const spec = resize10('nearest', [1, 1, 2, 2]);
    const low = await expectConversionKeepsOutputs(oneNodeModel(spec), 7, feedsOf(spec));
    expect(nodeOf(low, 'Upsample').attr('scales', 'floats')).toEqual([1, 1, 2, 2]);
  });

  it('refuses modes with no older equivalent', () => {
    const cubic: OneNodeSpec = {
      op: 'Resize',
      opset: 13,
      inputs: [feed('x', [1, 1, 4, 4]), null, init('scales', floats([4], [1, 1, 2, 2]))],
      attributes: { mode: 'cubic' },
    };
    expect(() => convertOpset(oneNodeModel(cubic), 10)).toThrow(/mode 'cubic' has no equivalent before opset 11/);
    const mixed = resize10('nearest', [1, 1, 2, 0.5]);
    expect(() => convertOpset(oneNodeModel(mixed), 11)).toThrow(/differs per axis/);
  });

  it('Resize 13 → 11 fills the optional roi and scales with empty tensors', async () => {
    const spec: OneNodeSpec = {
      op: 'Resize',
      opset: 13,
      inputs: [feed('x', [1, 1, 3, 3]), null, null, init('sizes', Tensor.from('int64', [4], [1, 1, 5, 4]))],
      attributes: { mode: 'linear' },
    };
    const low = await expectConversionKeepsOutputs(oneNodeModel(spec), 11, feedsOf(spec));
    expect(nodeOf(low, 'Resize').inputs.map((v) => v?.const?.size)).toEqual([undefined, 0, 0, 4]);
  });
});

describe('other version changes', () => {
  it('Gemm 11 → 9 gives a missing C as a zero scalar', async () => {
    const spec: OneNodeSpec = { op: 'Gemm', opset: 11, inputs: [feed('a', [2, 3]), feed('b', [3, 4], 2)] };
    const low = await expectConversionKeepsOutputs(oneNodeModel(spec), 9, feedsOf(spec));
    expect(nodeOf(low, 'Gemm').inputs[2]!.const!.dims).toEqual([]);
  });

  it('Scatter-9 becomes ScatterElements-11 and back', async () => {
    const spec: OneNodeSpec = {
      op: 'Scatter',
      opset: 10,
      inputs: [feed('x', [3, 3]), init('i', Tensor.from('int64', [1, 2], [2, 0])), init('u', floats([1, 2], [5, 6]))],
      attributes: { axis: 1 },
    };
    const { high } = await roundTrip(spec, 11);
    expect(ops(high)).toEqual(['ScatterElements']);
  });

  it('Max 7 → 8 and back when the shapes agree; refused down when they broadcast', async () => {
    await roundTrip({ op: 'Max', opset: 7, inputs: [feed('a', [2, 3]), feed('b', [2, 3], 5)] }, 8);
    const broadcast = oneNodeModel({ op: 'Max', opset: 8, inputs: [feed('a', [2, 3]), feed('b', [3], 5)] });
    expect(() => convertOpset(broadcast, 7)).toThrow(/broadcast only from opset 8/);
  });

  it('Pow 12 → 7 refuses an integer exponent; same-type floats go down', async () => {
    const mixed = oneNodeModel({
      op: 'Pow',
      opset: 12,
      inputs: [feed('a', [3]), init('e', Tensor.from('int64', [1], [2]))],
    });
    expect(() => convertOpset(mixed, 11)).toThrow(/one float type for both/);
    await roundTrip({ op: 'Pow', opset: 7, inputs: [feed('a', [3]), init('e', floats([1], [2]))] }, 15);
  });

  it('Shape 15 start/end go down as Shape → Slice', async () => {
    const spec: OneNodeSpec = {
      op: 'Shape',
      opset: 15,
      inputs: [feed('x', [2, 3, 4, 5])],
      attributes: { start: 1, end: -1 },
      outputs: ['int64'],
    };
    const low = await expectConversionKeepsOutputs(oneNodeModel(spec), 13, feedsOf(spec));
    expect(ops(low)).toEqual(['Shape', 'Slice']);
  });

  it('Reshape-14 allowzero=1 goes down only when the shape holds no zero', async () => {
    const spec = (shape: number[]): OneNodeSpec => ({
      op: 'Reshape',
      opset: 14,
      inputs: [feed('x', [2, 6]), init('shape', Tensor.from('int64', [shape.length], shape))],
      attributes: { allowzero: 1 },
    });
    await expectConversionKeepsOutputs(oneNodeModel(spec([3, 4])), 13, feedsOf(spec([3, 4])));
    expect(() => convertOpset(oneNodeModel(spec([0, 12])), 13)).toThrow(/allowzero=1/);
  });

  it('CastLike below 15 is a Cast to its target type; Constant value_floats below 12 is a value tensor', async () => {
    const spec: OneNodeSpec = {
      op: 'CastLike',
      opset: 15,
      inputs: [feed('x', [4]), init('like', Tensor.from('int32', [1], [0]))],
      outputs: ['int32'],
    };
    const low = await expectConversionKeepsOutputs(oneNodeModel(spec), 13, feedsOf(spec));
    expect(nodeOf(low, 'Cast').attr('to', 'int')).toBe(6);
    const constant = { op: 'Constant', opset: 13, inputs: [], attributes: { value_floats: [1.5, 2] } };
    const old = await expectConversionKeepsOutputs(oneNodeModel(constant), 11, {});
    expect(Array.from(nodeOf(old, 'Constant').attr('value', 'tensor')!.toFloat64())).toEqual([1.5, 2]);
  });

  it('GridSample 16 → 20 renames bilinear to linear, and back', async () => {
    const grid = floats([1, 2, 2, 2], [-1, -1, 0.5, -0.25, 0, 0.3, 1, 1]);
    const spec: OneNodeSpec = {
      op: 'GridSample',
      opset: 16,
      inputs: [feed('x', [1, 1, 3, 3]), init('grid', grid)],
      attributes: { mode: 'bilinear' },
    };
    const { high, low } = await roundTrip(spec, 20);
    expect(nodeOf(high, 'GridSample').attr('mode', 'string')).toBe('linear');
    expect(nodeOf(low, 'GridSample').attr('mode', 'string')).toBe('bilinear');
  });

  it('QuantizeLinear 10 → 21 → 10 with a scalar scale; a per-axis scale is refused below 13', async () => {
    const spec: OneNodeSpec = {
      op: 'QuantizeLinear',
      opset: 10,
      inputs: [feed('x', [2, 3]), init('s', floats([], [0.02])), init('z', Tensor.from('uint8', [], [128]))],
      outputs: ['uint8'],
    };
    await roundTrip(spec, 21);
    const perAxis = oneNodeModel({
      op: 'DequantizeLinear',
      opset: 13,
      inputs: [{ feed: 'q', value: Tensor.from('uint8', [2, 2], [1, 2, 3, 4]) }, init('s', floats([2], [0.1, 0.2]))],
      attributes: { axis: 0 },
    });
    expect(() => convertOpset(perAxis, 12)).toThrow(/per-axis/);
  });

  it('MaxPool 7 → 12 and back; dilations are refused below 10', async () => {
    const spec: OneNodeSpec = {
      op: 'MaxPool',
      opset: 7,
      inputs: [feed('x', [1, 1, 5, 5])],
      attributes: { kernel_shape: [2, 2], strides: [2, 2] },
    };
    await roundTrip(spec, 12);
    const dilated = oneNodeModel({ ...spec, opset: 12, attributes: { kernel_shape: [2, 2], dilations: [2, 2] } });
    expect(() => convertOpset(dilated, 9)).toThrow(/dilations=\[2,2\]/);
  });
});
