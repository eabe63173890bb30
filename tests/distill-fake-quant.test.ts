/**
 * The trainable executor's QuantizeLinear/DequantizeLinear (fake quantization) against
 * onnxruntime-node running the same Q→DQ model, for every type QAT uses (4-bit at opset 21),
 * per tensor and per channel, on values that land on rounding ties and past both saturation
 * points; and their gradients against the definitions of the clipped straight-through estimator
 * and of LSQ (Esser et al., 2020, eq. 3, with the gradient scale g = 1/√(N·Qp) of section 2.2),
 * derived by hand here (a finite difference of the true staircase would not give LSQ's estimator:
 * the −x/s term is the straight-through part by definition).
 */
import { describe, expect, it } from 'vitest';
import { Graph, Model, Tensor, quantTensor, roundHalfEven, tensorType, type QuantType } from '@edgeml/core';
import { TrainableModel, tf } from '@edgeml/distill';
import { runOrt } from './support/models.js';

const RANGES: Record<string, [number, number]> = { uint8: [0, 255], int8: [-128, 127], uint4: [0, 15], int4: [-8, 7] };

/** x → QuantizeLinear → DequantizeLinear → y, with the scale an initializer (LSQ may train it). */
function qdqModel(type: QuantType, scale: number[], zeroPoint: number[], dims: number[], axis?: number): Model {
  const g = new Graph('qdq');
  const x = g.addInput('x', tensorType('float32', dims));
  const shape = scale.length > 1 ? [scale.length] : [];
  const s = g.addInitializer('scale', Tensor.from('float32', shape, scale));
  const z = g.addInitializer('zero_point', quantTensor(type, shape, Int32Array.from(zeroPoint)));
  const attrs: Record<string, number> = axis === undefined ? {} : { axis };
  const q = g.op('QuantizeLinear', [x, s, z], attrs, { name: 'q', outputs: ['q'] }).outputs[0];
  const y = g.op('DequantizeLinear', [q, s, z], attrs, { name: 'dq', outputs: ['y'] }).outputs[0];
  // onnxruntime-node cannot hand a 4-bit tensor to JavaScript (it aborts): those cases compare y only.
  g.outputs.push(...(type.endsWith('4') ? [y] : [q, y]));
  return new Model(g, { opsetImports: new Map([['', type.endsWith('4') ? 21 : 13]]), irVersion: 10 });
}

/** Values at and between every level, on the half-way ties, and past both ends. */
function probe(scale: number, zero: number, type: string, count: number): Float32Array {
  const [qmin, qmax] = RANGES[type];
  return Float32Array.from({ length: count }, (_, i) => {
    const level = qmin - 3 + ((i * 7) % (qmax - qmin + 7));
    return (level - zero + [0, 0.5, -0.5, 0.25, 1.5][i % 5]) * scale;
  });
}

const CASES: { type: QuantType; scale: number[]; zero: number[]; dims: number[]; axis?: number }[] = [
  { type: 'uint8', scale: [0.05], zero: [128], dims: [4, 64] },
  { type: 'int8', scale: [0.02, 0.1, 0.5], zero: [0, 0, 0], dims: [3, 2, 20], axis: 0 },
  { type: 'uint4', scale: [0.25], zero: [3], dims: [2, 50] },
  { type: 'int4', scale: [0.1, 0.3], zero: [0, 1], dims: [5, 2, 9], axis: 1 },
];

function probeFor(c: (typeof CASES)[number]): Float32Array {
  const size = c.dims.reduce((a, b) => a * b, 1);
  const inner = c.axis === undefined ? size : c.dims.slice(c.axis + 1).reduce((a, b) => a * b, 1);
  const x = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const ch = c.scale.length > 1 ? Math.floor(i / inner) % c.scale.length : 0;
    x[i] = probe(c.scale[ch], c.zero[ch], c.type, size)[i];
  }
  return x;
}

describe('fake quantization = onnxruntime QuantizeLinear/DequantizeLinear', () => {
  for (const c of CASES)
    it(`${c.type}${c.axis === undefined ? ' per tensor' : ` per channel (axis ${c.axis})`}`, async () => {
      const model = qdqModel(c.type, c.scale, c.zero, c.dims, c.axis);
      const x = probeFor(c);
      const want = await runOrt(model, { x: Tensor.from('float32', c.dims, x) });
      const executor = await TrainableModel.fromModel(model, { foldConstants: false });
      const got = tf.tidy(() => {
        const out = executor.forward({ x: tf.tensor(x, c.dims) }, { outputs: ['q', 'y'] });
        return { q: out.q.dataSync().slice(), y: out.y.dataSync().slice() };
      });
      if (want.q) expect(Array.from(got.q)).toEqual(Array.from(want.q.data as ArrayLike<number>, Number));
      expect(Array.from(got.y)).toEqual(Array.from(want.y.data as Float32Array));
      // Both ends saturate: the probe exercises the clamps as well as the rounding.
      const [qmin, qmax] = RANGES[c.type];
      expect([Math.min(...got.q), Math.max(...got.q)]).toEqual([qmin, qmax]);
      executor.dispose();
    });
});

/** LSQ's scale gradient of Σy over one channel's elements (eq. 3), before the gradient scale; x/s in float32 as ONNX divides. */
function lsqSum(values: ArrayLike<number>, scale: number, zero: number, qmin: number, qmax: number): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const u = Math.fround(values[i] / Math.fround(scale));
    const t = u + zero;
    sum += t < qmin ? qmin - zero : t > qmax ? qmax - zero : roundHalfEven(u) - u;
  }
  return sum;
}

describe('fake quantization gradients', () => {
  it('pass straight through inside the range, stop where it saturates, and give LSQ the scale gradient', async () => {
    const [scale, zero, type] = [0.25, 3, 'uint4' as const];
    const model = qdqModel(type, [scale], [zero], [40]);
    const x = probe(scale, zero, type, 40);
    const executor = await TrainableModel.fromModel(model, { foldConstants: false, trainable: (n) => n === 'scale' });
    const [scaleVariable] = executor.trainableVariables;
    const input = tf.tensor(x, [40]);
    const { dx, ds } = tf.tidy(() => {
      const f = (t: tf.Tensor) => tf.sum<tf.Scalar>(executor.forward({ x: t }).y);
      const grads = tf.variableGrads(() => f(input), [scaleVariable]);
      return { dx: tf.grad(f)(input).dataSync().slice(), ds: grads.grads[scaleVariable.name].dataSync()[0] };
    });
    const [qmin, qmax] = RANGES[type];
    x.forEach((v, i) => {
      const t = Math.fround(v / scale) + zero;
      expect(dx[i]).toBe(t >= qmin && t <= qmax ? 1 : 0);
    });
    // LSQ, eq. 3: ∂x̂/∂s = round(x/s) − x/s inside, qmin − z below, qmax − z above; times
    // g = 1/√(N·Qp) with N = 40 elements (a rank-1 tensor is one sample) and Qp = 15 − 3 levels.
    const g = 1 / Math.sqrt(40 * (qmax - zero));
    expect(ds).toBeCloseTo(g * lsqSum(x, scale, zero, qmin, qmax), 5);
    executor.dispose();
  });

  it('scale LSQ gradients by 1/√(N·Qp): N per sample for activations, per channel for weights', async () => {
    // The op sums the Q and DQ halves of the gradient apart in float32 (two sums of up to ~Σ|x/s|
    // that nearly cancel), hence 4 decimals. An activation batch: 4 samples × 10 features, per
    // tensor, int8 (Qp = 127 − z).
    const act = qdqModel('int8', [0.05], [-2], [4, 10]);
    const xa = probe(0.05, -2, 'int8', 40);
    const ea = await TrainableModel.fromModel(act, { foldConstants: false, trainable: (n) => n === 'scale' });
    const dsAct = tf.tidy(() => {
      const grads = tf.variableGrads(() => tf.sum<tf.Scalar>(ea.forward({ x: tf.tensor(xa, [4, 10]) }).y));
      return grads.grads[ea.trainableVariables[0].name].dataSync()[0];
    });
    expect(dsAct).toBeCloseTo(lsqSum(xa, 0.05, -2, -128, 127) / Math.sqrt(10 * 129), 4);
    ea.dispose();

    // A weight [3, 2, 20] quantized per channel along axis 0: N = 40 elements per scale.
    const scales = [0.02, 0.1, 0.5];
    const weight = qdqModel('int8', scales, [0, 0, 0], [3, 2, 20], 0);
    const w = probeFor({ type: 'int8', scale: scales, zero: [0, 0, 0], dims: [3, 2, 20], axis: 0 });
    weight.graph.addInitializer('w', Tensor.from('float32', [3, 2, 20], w));
    const q = weight.graph.nodes.find((n) => n.name === 'q')!;
    q.setInput(0, weight.graph.initializers.get('w'));
    weight.graph.inputs.splice(0, weight.graph.inputs.length);
    weight.graph.outputs.splice(0, weight.graph.outputs.length, weight.graph.findValue('y')!);
    const ew = await TrainableModel.fromModel(weight, { foldConstants: false, trainable: (n) => n === 'scale' });
    const dsWeight = tf.tidy(() => {
      const scaleVariable = ew.trainableVariables.find((_, i) => ew.trainableWeightNames[i] === 'scale')!;
      const grads = tf.variableGrads(() => tf.sum<tf.Scalar>(ew.forward({}).y), [scaleVariable]);
      return Array.from(grads.grads[scaleVariable.name].dataSync());
    });
    scales.forEach((s, ch) => {
      const run = w.subarray(ch * 40, (ch + 1) * 40);
      expect(dsWeight[ch]).toBeCloseTo(lsqSum(run, s, 0, -128, 127) / Math.sqrt(40 * 127), 4);
    });
    ew.dispose();
  });
});
