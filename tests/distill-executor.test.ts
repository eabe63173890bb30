/**
 * The trainable executor's forward pass against onnxruntime-node, op by op: each case is a
 * one-node ONNX model (random inputs, constant parameters) run by both.
 */
import { describe, expect, it } from 'vitest';
import { Graph, Model, Tensor, attr, tensorType, type Attribute } from '@edgeml/core';
import { TrainableModel, tf } from '@edgeml/distill';
import { randomTensor, runOrt } from './support/models.js';

type In = { data: Tensor } | { constant: Tensor };
interface Case {
  label: string;
  op: string;
  inputs: In[];
  attrs?: Attribute[] | Record<string, unknown>;
  opset?: number;
  outputs?: number;
}

const x = (dims: number[], seed = 1, scale = 1): In => ({ data: randomTensor(dims, seed, scale) });
const k = (dims: number[], seed = 2, scale = 0.5): In => ({ constant: randomTensor(dims, seed, scale) });
const ints = (values: number[]): In => ({ constant: Tensor.from('int64', [values.length], values.map(BigInt)) });
const positive = (dims: number[], seed = 3): In => ({
  data: Tensor.from(
    'float32',
    dims,
    randomTensor(dims, seed)
      .toFloat64()
      .map((v) => Math.abs(v) + 0.1),
  ),
});
const scalar = (v: number): In => ({ constant: Tensor.from('float32', [], [v]) });

const CASES: Case[] = [
  {
    label: 'Conv 3x3 pad 1 with bias',
    op: 'Conv',
    inputs: [x([2, 3, 8, 8]), k([4, 3, 3, 3]), k([4], 4)],
    attrs: { pads: [1, 1, 1, 1] },
  },
  {
    label: 'Conv stride 2, asymmetric pads, dilation',
    op: 'Conv',
    inputs: [x([1, 2, 11, 9]), k([3, 2, 3, 3])],
    attrs: { strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 2] },
  },
  { label: 'Conv grouped', op: 'Conv', inputs: [x([1, 4, 6, 6]), k([6, 2, 3, 3])], attrs: { group: 2 } },
  {
    label: 'Conv depthwise, SAME_UPPER',
    op: 'Conv',
    inputs: [x([2, 3, 7, 7]), k([3, 1, 3, 3])],
    attrs: { group: 3, auto_pad: 'SAME_UPPER', strides: [2, 2] },
  },
  {
    label: 'Conv 1-D',
    op: 'Conv',
    inputs: [x([2, 3, 20]), k([5, 3, 4]), k([5], 5)],
    attrs: { strides: [2], pads: [1, 2] },
  },
  {
    label: 'ConvTranspose stride 2, pads, output_padding, bias',
    op: 'ConvTranspose',
    inputs: [x([2, 3, 5, 4]), k([3, 4, 3, 3]), k([4], 4)],
    attrs: { strides: [2, 2], pads: [1, 0, 1, 1], output_padding: [1, 0] },
  },
  {
    label: 'ConvTranspose grouped, dilated',
    op: 'ConvTranspose',
    inputs: [x([1, 4, 4, 4]), k([4, 3, 2, 2])],
    attrs: { group: 2, dilations: [2, 1] },
  },
  {
    label: 'Gemm transB, alpha, beta',
    op: 'Gemm',
    inputs: [x([4, 6]), k([5, 6]), k([5], 3)],
    attrs: [attr('transB', 'int', 1), attr('alpha', 'float', 0.5), attr('beta', 'float', 2)],
  },
  { label: 'Gemm transA', op: 'Gemm', inputs: [x([6, 4]), k([6, 5])], attrs: { transA: 1 } },
  { label: 'MatMul batched', op: 'MatMul', inputs: [x([2, 3, 4, 5]), k([5, 6])] },
  { label: 'MatMul vector', op: 'MatMul', inputs: [x([5]), k([5, 3])] },
  { label: 'Add broadcast', op: 'Add', inputs: [x([2, 3, 4]), k([3, 1])] },
  { label: 'Sub', op: 'Sub', inputs: [x([2, 3]), x([2, 3], 7)] },
  { label: 'Mul broadcast', op: 'Mul', inputs: [x([2, 3, 4]), k([4])] },
  { label: 'Div', op: 'Div', inputs: [x([3, 4]), positive([3, 4], 8)] },
  { label: 'Pow', op: 'Pow', inputs: [positive([3, 4]), scalar(2.5)] },
  { label: 'Sqrt', op: 'Sqrt', inputs: [positive([3, 5])] },
  { label: 'Relu', op: 'Relu', inputs: [x([2, 7])] },
  { label: 'LeakyRelu', op: 'LeakyRelu', inputs: [x([2, 7])], attrs: { alpha: 0.1 } },
  { label: 'Sigmoid', op: 'Sigmoid', inputs: [x([2, 7], 1, 4)] },
  { label: 'Tanh', op: 'Tanh', inputs: [x([2, 7], 1, 3)] },
  { label: 'Clip with min and max inputs', op: 'Clip', inputs: [x([3, 6], 1, 3), scalar(-0.5), scalar(1.5)] },
  { label: 'HardSigmoid', op: 'HardSigmoid', inputs: [x([3, 6], 1, 5)], attrs: { alpha: 0.3, beta: 0.4 } },
  { label: 'HardSwish', op: 'HardSwish', inputs: [x([3, 6], 1, 5)] },
  { label: 'Gelu (opset 20)', op: 'Gelu', inputs: [x([3, 6], 1, 3)], opset: 20 },
  { label: 'Gelu tanh (opset 20)', op: 'Gelu', inputs: [x([3, 6], 1, 3)], attrs: { approximate: 'tanh' }, opset: 20 },
  { label: 'Softmax axis 1 (opset 13)', op: 'Softmax', inputs: [x([2, 4, 3], 1, 3)], attrs: { axis: 1 } },
  {
    label: 'Softmax coerced 2-D (opset 11)',
    op: 'Softmax',
    inputs: [x([2, 4, 3], 1, 3)],
    attrs: { axis: 1 },
    opset: 11,
  },
  { label: 'LogSoftmax', op: 'LogSoftmax', inputs: [x([3, 10], 1, 3)] },
  {
    label: 'BatchNormalization (inference)',
    op: 'BatchNormalization',
    inputs: [x([2, 3, 4, 4]), k([3], 5), k([3], 6), k([3], 7), { constant: Tensor.from('float32', [3], [0.5, 1, 2]) }],
    attrs: { epsilon: 1e-3 },
  },
  {
    label: 'LayerNormalization (opset 17)',
    op: 'LayerNormalization',
    inputs: [x([2, 3, 8]), k([8], 5), k([8], 6)],
    attrs: { axis: -1 },
    opset: 17,
  },
  { label: 'Dropout (inference)', op: 'Dropout', inputs: [x([2, 5])] },
  {
    label: 'MaxPool pads, ceil_mode',
    op: 'MaxPool',
    inputs: [x([1, 2, 7, 7])],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 0, 0], ceil_mode: 1 },
  },
  {
    label: 'AveragePool count_include_pad',
    op: 'AveragePool',
    inputs: [x([1, 2, 6, 6])],
    attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 },
  },
  {
    label: 'AveragePool excluding pads',
    op: 'AveragePool',
    inputs: [x([1, 2, 6, 6])],
    attrs: { kernel_shape: [2, 3], strides: [2, 1], pads: [1, 1, 1, 1] },
  },
  { label: 'MaxPool 1-D', op: 'MaxPool', inputs: [x([2, 3, 10])], attrs: { kernel_shape: [3], strides: [2] } },
  { label: 'GlobalAveragePool', op: 'GlobalAveragePool', inputs: [x([2, 3, 5, 4])] },
  { label: 'Reshape with 0 and -1', op: 'Reshape', inputs: [x([2, 3, 4]), ints([0, -1])] },
  { label: 'Flatten axis 2', op: 'Flatten', inputs: [x([2, 3, 4, 5])], attrs: { axis: 2 } },
  { label: 'Transpose', op: 'Transpose', inputs: [x([2, 3, 4])], attrs: { perm: [2, 0, 1] } },
  { label: 'Concat axis 1', op: 'Concat', inputs: [x([2, 3]), k([2, 4])], attrs: { axis: 1 } },
  { label: 'Split by sizes', op: 'Split', inputs: [x([2, 9]), ints([2, 3, 4])], attrs: { axis: 1 }, outputs: 3 },
  { label: 'Split evenly', op: 'Split', inputs: [x([6, 2])], attrs: { axis: 0 }, outputs: 3 },
  {
    label: 'Slice with steps and negative indices',
    op: 'Slice',
    inputs: [x([5, 8]), ints([1, -1]), ints([5, 0]), ints([0, 1]), ints([2, -2])],
  },
  {
    label: 'Slice to the end',
    op: 'Slice',
    inputs: [x([4, 6]), ints([1]), { constant: Tensor.from('int64', [1], [2n ** 63n - 1n]) }, ints([1])],
  },
  { label: 'Squeeze', op: 'Squeeze', inputs: [x([2, 1, 3, 1]), ints([1, 3])] },
  { label: 'Unsqueeze', op: 'Unsqueeze', inputs: [x([2, 3]), ints([0, 3])] },
  { label: 'Pad constant', op: 'Pad', inputs: [x([2, 3]), ints([1, 0, 0, 2]), scalar(0.25)] },
  {
    label: 'Pad reflect',
    op: 'Pad',
    inputs: [x([1, 2, 4, 5]), ints([0, 0, 1, 2, 0, 0, 2, 1])],
    attrs: { mode: 'reflect' },
  },
  {
    label: 'ReduceMean axes attribute',
    op: 'ReduceMean',
    inputs: [x([2, 3, 4])],
    attrs: { axes: [1, 2], keepdims: 0 },
  },
  { label: 'ReduceSum axes input', op: 'ReduceSum', inputs: [x([2, 3, 4]), ints([-1])] },
  { label: 'Identity', op: 'Identity', inputs: [x([3, 3])] },
];

function singleNode(c: Case): { model: Model; feeds: Record<string, Tensor> } {
  const g = new Graph(c.op);
  const feeds: Record<string, Tensor> = {};
  const inputs = c.inputs.map((spec, i) => {
    if ('data' in spec) {
      feeds[`in${i}`] = spec.data;
      return g.addInput(`in${i}`, tensorType(spec.data.dtype, [...spec.data.dims]));
    }
    return g.addInitializer(`p${i}`, spec.constant);
  });
  const node = g.op(c.op, inputs, (c.attrs ?? {}) as never, {
    name: c.op.toLowerCase(),
    outputs: Array.from({ length: c.outputs ?? 1 }, (_, i) => `y${i}`),
  });
  for (const o of node.outputs) g.outputs.push(o);
  return { model: new Model(g, { opsetImports: new Map([['', c.opset ?? 17]]), irVersion: 8 }), feeds };
}

describe('trainable executor forward = onnxruntime', () => {
  for (const c of CASES) {
    it(c.label, async () => {
      const { model, feeds } = singleNode(c);
      const expected = await runOrt(model, feeds);
      const ex = await TrainableModel.fromModel(model);
      const got = tf.tidy(() =>
        Object.fromEntries(
          Object.entries(
            ex.forward(
              Object.fromEntries(
                Object.entries(feeds).map(([n, t]) => [n, tf.tensor(t.data as Float32Array, [...t.dims])]),
              ),
            ),
          ).map(([n, t]) => [n, { shape: t.shape, data: Array.from(t.dataSync() as Float32Array) }]),
        ),
      );
      for (const [name, e] of Object.entries(expected)) {
        expect(got[name].shape, name).toEqual([...e.dims]);
        const want = e.data as Float32Array;
        const worst = Math.max(0, ...got[name].data.map((v, i) => Math.abs(v - want[i]) / (1 + Math.abs(want[i]))));
        expect(worst, name).toBeLessThan(2e-5);
      }
      ex.dispose();
    });
  }

  it('names every op it cannot run before anything trains', async () => {
    const g = new Graph('m');
    const a = g.addInput('a', tensorType('float32', [2, 2]));
    const l = g.op('LSTM', [a], {}, { name: 'rnn' }).outputs[0];
    const t = g.op('Hardmax', [l], {}, { name: 'hard' }).outputs[0];
    g.outputs.push(t);
    await expect(TrainableModel.fromModel(new Model(g, { opsetImports: new Map([['', 17]]) }))).rejects.toThrow(
      /cannot run LSTM \('rnn'\), Hardmax \('hard'\)/,
    );
  });
});
