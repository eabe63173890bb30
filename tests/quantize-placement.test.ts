/**
 * Where static QDQ puts its pairs decides what onnxruntime runs on integers. The oracle is
 * onnxruntime's own optimized graph (`optimizedModelFilePath`): after its QDQ fusions, which ops
 * are left in float, and how many standalone Quantize/DequantizeLinear remain.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph, Model, Tensor, decodeModel, encodeModel, tensorType, type Value } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { quantize } from '@edgeml/quantize';
import { randomTensor, runOrt } from './support/models.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-placement-'));
const backend = new NodeBackend();

/**
 * A PP-LCNet-like block: Conv → HardSwish → learnable affine (scalar Mul, scalar Add) →
 * depthwise-free Conv, squeeze-and-excitation gated by HardSigmoid, MaxPool, nearest Resize.
 */
function buildMobileBlock(): Model {
  const g = new Graph('mobile');
  const x = g.addInput('x', tensorType('float32', [1, 4, 16, 16]));
  const w = (name: string, dims: number[], seed: number) => g.addInitializer(name, randomTensor(dims, seed, 0.4));
  const s = (name: string, v: number) => g.addInitializer(name, Tensor.from('float32', [1], [v]));
  const op = (type: string, inputs: Value[], attrs = {}) =>
    g.op(type, inputs, attrs, { name: `${type}_${g.nodes.length}` }).outputs[0];
  const c1 = op('Conv', [x, w('w1', [8, 4, 3, 3], 1), w('b1', [8], 2)], { pads: [1, 1, 1, 1] });
  const h1 = op('HardSwish', [c1]);
  const affine = op('Add', [op('Mul', [h1, s('lab_scale', 1.3)]), s('lab_bias', 0.1)]);
  const c2 = op('Conv', [affine, w('w2', [8, 8, 1, 1], 3), w('b2', [8], 4)]);
  const gate = op('HardSigmoid', [op('Conv', [op('GlobalAveragePool', [c2]), w('w3', [8, 8, 1, 1], 5)])]);
  const excited = op('Mul', [c2, gate]);
  const pooled = op('MaxPool', [excited], { kernel_shape: [2, 2], strides: [2, 2] });
  const scales = g.addInitializer('resize_scales', Tensor.from('float32', [4], [1, 1, 2, 2]));
  const up = g.op('Resize', [pooled, undefined, scales], { mode: 'nearest' }, { name: 'Resize_up' }).outputs[0];
  const y = op('Conv', [up, w('w4', [4, 8, 3, 3], 6), w('b4', [4], 7)], { pads: [1, 1, 1, 1] });
  y.name = 'y';
  y.type = tensorType('float32', [1, 4, 16, 16]);
  g.outputs.push(y);
  return new Model(g, { opsetImports: new Map([['', 14]]), irVersion: 8 });
}

/** Op types of the graph onnxruntime runs once it has applied every optimization (one thread). */
async function optimizedOpTypes(model: Model, name: string): Promise<Record<string, number>> {
  const file = path.join(tmp, `${name}.optimized.onnx`);
  const session = await ort.InferenceSession.create(encodeModel(model), {
    optimizedModelFilePath: file,
    graphOptimizationLevel: 'extended',
    intraOpNumThreads: 1,
    logSeverityLevel: 4,
  });
  await session.release();
  const counts: Record<string, number> = {};
  for (const n of decodeModel(fs.readFileSync(file)).graph) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
  return counts;
}

const samples = Array.from({ length: 12 }, (_, i) => ({ x: randomTensor([1, 4, 16, 16], 40 + i) }));

describe('fusion-aware QDQ placement', () => {
  it('leaves onnxruntime no float op and no Q/DQ pair inside a hard-swish network', async () => {
    const float = buildMobileBlock();
    const r = await quantize(float, { mode: 'static', calibrationData: samples, backend });
    const ops = await optimizedOpTypes(r.model, 'mobile');
    // Every compute op became an integer kernel; Resize and MaxPool run on the integers.
    for (const op of ['HardSwish', 'HardSigmoid', 'Mul', 'Add', 'Conv', 'Clip', 'GlobalAveragePool'])
      expect(ops[op] ?? 0, `${op} left in float: ${JSON.stringify(ops)}`).toBe(0);
    expect(ops.QLinearConv).toBe(4);
    expect(ops.QLinearMul).toBeGreaterThanOrEqual(2);
    // Only the model's own input and output cross between float and integers.
    expect(ops.QuantizeLinear ?? 0).toBe(1);
    expect(ops.DequantizeLinear ?? 0).toBe(1);
    // The learnable scale and HardSwish's x/6 are folded into scales, not run.
    expect(r.quantizedNodes.filter((n) => n.reason?.startsWith('folded into the scale'))).toHaveLength(3);
    const held = { x: randomTensor([1, 4, 16, 16], 99) };
    const [a, b] = [await runOrt(float, held), await runOrt(r.model, held)];
    const fa = a.y.data as Float32Array,
      fb = b.y.data as Float32Array;
    let num = 0,
      den = 0;
    for (let i = 0; i < fa.length; i++) {
      num += (fa[i] - fb[i]) ** 2;
      den += fa[i] ** 2;
    }
    expect(10 * Math.log10(den / num)).toBeGreaterThan(25);
  });

  it('a Resize whose output kept its own scale would run in float: sharing is what lets it run on integers', async () => {
    const float = buildMobileBlock();
    const r = await quantize(float, { mode: 'static', calibrationData: samples, backend });
    const resize = [...r.model.graph].find((n) => n.name === 'Resize_up')!;
    const scaleIn = resize.inputs[0]!.producer()!.inputs[1]!.const!.toFloat64()[0];
    const q = resize.outputs[0].uses()[0].node;
    expect(q.opType).toBe('QuantizeLinear');
    expect(q.inputs[1]!.const!.toFloat64()[0]).toBe(scaleIn);
  });

  it('leaves ConvTranspose float by default, saying why, and quantizes it when asked', async () => {
    const g = new Graph('up');
    const x = g.addInput('x', tensorType('float32', [1, 4, 8, 8]));
    const y = g.op(
      'ConvTranspose',
      [x, g.addInitializer('w', randomTensor([4, 4, 2, 2], 3, 0.3))],
      {
        strides: [2, 2],
      },
      { name: 'up' },
    ).outputs[0];
    y.name = 'y';
    y.type = tensorType('float32', [1, 4, 16, 16]);
    g.outputs.push(y);
    const model = new Model(g, { opsetImports: new Map([['', 13]]), irVersion: 8 });
    const data = Array.from({ length: 4 }, (_, i) => ({ x: randomTensor([1, 4, 8, 8], i) }));
    await expect(quantize(model, { mode: 'static', calibrationData: data, backend })).rejects.toThrow(
      /ConvTranspose: onnxruntime has no integer ConvTranspose kernel/,
    );
    const asked = await quantize(model, { mode: 'static', calibrationData: data, backend, opTypes: ['ConvTranspose'] });
    expect(asked.quantizedNodes.map((n) => n.opType)).toEqual(['ConvTranspose']);
  });
});
