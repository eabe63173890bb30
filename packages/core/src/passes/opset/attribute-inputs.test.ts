/**
 * Attribute ↔ input adapters, judged by onnxruntime-node: each one-node model converted up
 * gives the original's outputs, and converted back down gives them again, in the older form.
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

const ints = (name: string, values: number[]) => ({ init: name, value: Tensor.from('int64', [values.length], values) });

interface RoundTrip {
  name: string;
  spec: OneNodeSpec;
  target: number;
  /** The converted node's form at the target. */
  converted: (node: ReturnType<typeof nodeOf>) => void;
  /** Op name at the target when the op was renamed. */
  op?: string;
}

const CASES: RoundTrip[] = [
  {
    name: 'Clip 6 → 11: min/max attributes become inputs',
    spec: { op: 'Clip', opset: 7, inputs: [feed('x', [2, 5])], attributes: { min: -0.25, max: 0.5 } },
    target: 11,
    converted: (n) => {
      expect(n.attributes.size).toBe(0);
      expect(n.inputs.map((v) => v?.const?.toFloat64()[0])).toEqual([undefined, -0.25, 0.5]);
    },
  },
  {
    name: 'Clip 6 → 13 with only max',
    spec: { op: 'Clip', opset: 9, inputs: [feed('x', [3, 4])], attributes: { max: 0.1 } },
    target: 13,
    converted: (n) => expect(n.inputs.length).toBe(3),
  },
  {
    name: 'Pad 2 → 11: pads and value become inputs',
    spec: {
      op: 'Pad',
      opset: 10,
      inputs: [feed('x', [1, 2, 3])],
      attributes: { pads: [0, 1, 2, 0, 2, 1], value: 1.5 },
    },
    target: 11,
    converted: (n) => expect(Array.from(n.inputs[1]!.const!.toFloat64())).toEqual([0, 1, 2, 0, 2, 1]),
  },
  {
    name: 'Pad 2 → 19, reflect mode',
    spec: {
      op: 'Pad',
      opset: 8,
      inputs: [feed('x', [1, 3, 4])],
      attributes: { mode: 'reflect', pads: [0, 0, 2, 0, 0, 1] },
    },
    target: 19,
    converted: (n) => expect(n.inputs.length).toBe(2),
  },
  {
    name: 'Slice 1 → 10: starts/ends/axes become inputs (INT64_MAX end kept)',
    spec: {
      op: 'Slice',
      opset: 9,
      inputs: [feed('x', [4, 6])],
      attributes: { starts: [1, -4], ends: [2 ** 63, -1], axes: [0, 1] },
    },
    target: 10,
    converted: (n) => expect(n.inputs.length).toBe(4),
  },
  {
    name: 'TopK 1 → 10: k becomes an input',
    spec: { op: 'TopK', opset: 9, inputs: [feed('x', [3, 7])], attributes: { k: 3 }, outputs: ['float32', 'int64'] },
    target: 10,
    converted: (n) => expect(Array.from(n.inputs[1]!.const!.toFloat64())).toEqual([3]),
  },
  {
    name: 'Split 2 → 13: split becomes an input',
    spec: {
      op: 'Split',
      opset: 12,
      inputs: [feed('x', [2, 7])],
      attributes: { axis: 1, split: [2, 5] },
      outputs: ['float32', 'float32'],
    },
    target: 13,
    converted: (n) => expect(Array.from(n.inputs[1]!.const!.toFloat64())).toEqual([2, 5]),
  },
  {
    name: 'Split 13 → 18: equal parts get num_outputs',
    spec: { op: 'Split', opset: 13, inputs: [feed('x', [6, 2])], outputs: ['float32', 'float32', 'float32'] },
    target: 18,
    converted: (n) => expect(n.attr('num_outputs', 'int')).toBe(3),
  },
  {
    name: 'Squeeze 11 → 13: axes becomes an input (negative axis kept)',
    spec: { op: 'Squeeze', opset: 11, inputs: [feed('x', [1, 3, 1])], attributes: { axes: [-1] } },
    target: 13,
    converted: (n) => expect(Array.from(n.inputs[1]!.const!.toFloat64())).toEqual([-1]),
  },
  {
    name: 'Unsqueeze 7 → 21',
    spec: { op: 'Unsqueeze', opset: 7, inputs: [feed('x', [2, 3])], attributes: { axes: [0, 3] } },
    target: 21,
    converted: (n) => expect(n.attributes.size).toBe(0),
  },
  {
    name: 'ReduceSum 11 → 13: axes becomes an input',
    spec: { op: 'ReduceSum', opset: 11, inputs: [feed('x', [2, 3, 4])], attributes: { axes: [1], keepdims: 0 } },
    target: 13,
    converted: (n) => expect(n.inputs.length).toBe(2),
  },
  {
    name: 'ReduceMean 13 → 18: axes becomes an input',
    spec: { op: 'ReduceMean', opset: 13, inputs: [feed('x', [2, 3, 4])], attributes: { axes: [0, 2] } },
    target: 18,
    converted: (n) => expect(n.attributes.has('axes')).toBe(false),
  },
  {
    name: 'ReduceMax 11 → 18 without axes (reduces everything at both versions)',
    spec: { op: 'ReduceMax', opset: 11, inputs: [feed('x', [2, 3])] },
    target: 18,
    converted: (n) => expect(n.inputs.length).toBe(1),
  },
  {
    name: 'Dropout 7 → 12: ratio becomes an input; the mask keeps its type for readers',
    spec: { op: 'Dropout', opset: 7, inputs: [feed('x', [2, 3])], attributes: { ratio: 0.3 } },
    target: 12,
    converted: (n) => expect(n.inputs[1]!.const!.toFloat64()[0]).toBeCloseTo(0.3),
  },
  {
    name: 'Upsample 7 → 10 becomes Resize-10 (scales an input)',
    spec: {
      op: 'Upsample',
      opset: 8,
      inputs: [feed('x', [1, 1, 2, 3])],
      attributes: { mode: 'nearest', scales: [1, 1, 2, 1.5] },
    },
    target: 10,
    op: 'Resize',
    converted: (n) => expect(Array.from(n.inputs[1]!.const!.toFloat64())).toEqual([1, 1, 2, 1.5]),
  },
];

describe('attribute ↔ input adapters', () => {
  for (const c of CASES)
    it(`${c.name}, and back down`, async () => {
      const model = oneNodeModel(c.spec);
      const feeds = feedsOf(c.spec);
      const up = await expectConversionKeepsOutputs(model, c.target, feeds);
      c.converted(nodeOf(up, c.op ?? c.spec.op));
      const down = await expectConversionKeepsOutputs(up, c.spec.opset, feeds);
      const back = nodeOf(down, c.spec.op);
      expect([...back.attributes.keys()].sort()).toEqual(Object.keys(c.spec.attributes ?? {}).sort());
      expect(back.inputs.length).toBe(c.spec.inputs.length);
    });

  it('Pad 18 → 17: pads for some axes are spelled out for every axis', async () => {
    const spec: OneNodeSpec = {
      op: 'Pad',
      opset: 18,
      inputs: [feed('x', [2, 3, 4]), ints('pads', [1, 2, 0, 1]), null, ints('axes', [0, -1])],
    };
    const down = await expectConversionKeepsOutputs(oneNodeModel(spec), 17, feedsOf(spec));
    const pad = nodeOf(down, 'Pad');
    expect(pad.inputs.length).toBe(2);
    expect(Array.from(pad.inputs[1]!.const!.toFloat64())).toEqual([1, 0, 2, 0, 0, 1]);
  });

  it('Split 18 → 17: an uneven num_outputs split gets explicit sizes', async () => {
    const spec: OneNodeSpec = {
      op: 'Split',
      opset: 18,
      inputs: [feed('x', [7, 2])],
      attributes: { num_outputs: 3 },
      outputs: ['float32', 'float32', 'float32'],
    };
    const down = await expectConversionKeepsOutputs(oneNodeModel(spec), 13, feedsOf(spec));
    expect(Array.from(nodeOf(down, 'Split').inputs[1]!.const!.toFloat64())).toEqual([3, 3, 1]);
  });

  it('refuses attribute forms of inputs computed at run time, and steps other than 1, with the typed error', () => {
    const dynamic = oneNodeModel({
      op: 'Slice',
      opset: 13,
      inputs: [feed('x', [4]), { feed: 's', value: Tensor.from('int64', [1], [1]) }, ints('e', [3])],
    });
    const error = (() => {
      try {
        convertOpset(dynamic, 9);
      } catch (e) {
        return e;
      }
    })() as OpsetConversionError;
    expect(error).toBeInstanceOf(OpsetConversionError);
    expect(error.code).toBe('E_OPSET_CONVERSION');
    expect([error.nodeName, error.opType, error.from, error.to]).toEqual(['slice', 'Slice', 10, 9]);
    expect(error.message).toMatch(/starts \(input 1, 's'\) is computed at run time.*fold it to a constant/);
    const stepped = oneNodeModel({
      op: 'Slice',
      opset: 13,
      inputs: [feed('x', [4]), ints('s', [0]), ints('e', [4]), ints('a', [0]), ints('st', [2])],
    });
    expect(() => convertOpset(stepped, 9)).toThrow(/steps \[2\] have no equivalent before opset 10/);
  });
});
