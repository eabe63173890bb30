/**
 * Static QDQ with 4-bit activations (opset 21) on a CNN with the patterns onnxruntime-node 1.30
 * refuses at 4 bits: a MaxPool between quantized layers (its QDQ propagation moves the Q/DQ onto
 * the MaxPool, which has no 4-bit kernel), a Clip read by a 4-bit QuantizeLinear (its Clip→Q
 * fusion throws), and a Conv with 8-bit weights (fused into a QLinearConv without 4-bit
 * kernels). onnxruntime itself judges every model written: it must load and run, with graph
 * optimizations on, and compute what the graph says (the same as with optimizations off).
 * The official checker (Debian python3-onnx 1.12) knows opsets up to 17 and no 4-bit types, so it
 * checks the 8-bit form of the same net only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph, Model, Tensor, encodeModel, encodeNpy, inferShapes, tensorType, type Node } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { STATIC_OPS, quantize } from '@edgeml/quantize';
import { QatModel, TensorDataset, tf, trainQat } from '@edgeml/distill';
import { runCli } from '../packages/cli/src/testing/run-cli.js';
import { mnistBatch, mnistCalibration, mnistSplit } from './support/mnist.js';
import { randomTensor, runOrt } from './support/models.js';
import { checkModels } from './support/onnx-checker.js';

const backend = new NodeBackend();
const { train, test } = mnistSplit();
const digits = mnistBatch(test.images.slice(0, 200));

/**
 * x → Conv → MaxPool → Clip(0, 6) → Conv → Relu → MaxPool → Reshape → Gemm, seeded weights:
 * a Clip no Q can absorb (MaxPool before it stays float), and a Q after Reshape that onnxruntime
 * would propagate back through the MaxPool.
 */
function poolingCnn(): Model {
  const g = new Graph('pooling-cnn');
  const x = g.addInput('image', tensorType('float32', ['N', 1, 28, 28]));
  let seed = 3;
  const w = (name: string, dims: number[], scale: number) => g.addInitializer(name, randomTensor(dims, seed++, scale));
  const konst = (name: string, t: Tensor) => g.addInitializer(name, t);
  const out = (n: Node) => n.outputs[0];
  const pool = (v: ReturnType<typeof w>, name: string) =>
    out(g.op('MaxPool', [v], { kernel_shape: [2, 2], strides: [2, 2] }, { name }));
  const c1 = out(
    g.op(
      'Conv',
      [x, w('conv1.w', [4, 1, 3, 3], 0.6), w('conv1.b', [4], 0.1)],
      { pads: [1, 1, 1, 1] },
      { name: 'conv1' },
    ),
  );
  const p1 = pool(c1, 'pool1');
  const bounds = [konst('clip.lo', Tensor.from('float32', [], [0])), konst('clip.hi', Tensor.from('float32', [], [6]))];
  const r1 = out(g.op('Clip', [p1, ...bounds], {}, { name: 'relu6' }));
  const c2 = out(
    g.op(
      'Conv',
      [r1, w('conv2.w', [8, 4, 3, 3], 0.3), w('conv2.b', [8], 0.1)],
      { pads: [1, 1, 1, 1] },
      { name: 'conv2' },
    ),
  );
  const p2 = pool(out(g.op('Relu', [c2], {}, { name: 'relu2' })), 'pool2');
  const shape = konst('flat.shape', Tensor.from('int64', [2], [0n, -1n]));
  const flat = out(g.op('Reshape', [p2, shape], {}, { name: 'flatten' }));
  const logits = out(
    g.op('Gemm', [flat, w('fc.w', [10, 392], 0.1), w('fc.b', [10], 0.1)], { transB: 1 }, { name: 'fc' }),
  );
  logits.name = 'logits';
  g.outputs.push(logits);
  const model = new Model(g, { irVersion: 8, opsetImports: new Map([['', 17]]), producerName: 'edgeml-tests' });
  inferShapes(model);
  return model;
}

/** onnxruntime's logits with all graph optimizations (what users get) and with none (what the graph says). */
async function ortLogits(model: Model): Promise<{ optimized: Float32Array; plain: Float32Array }> {
  const session = await ort.InferenceSession.create(encodeModel(model), { logSeverityLevel: 4 });
  const feeds = { image: new ort.Tensor('float32', digits.data, digits.dims) };
  const optimized = (await session.run(feeds)).logits.data as Float32Array;
  await session.release();
  const plain = (await runOrt(model, { image: digits })).logits.data as Float32Array;
  return { optimized, plain };
}

const stepOf = (model: Model) => model.graph.initializers.get('logits_scale')!.const!.toFloat64()[0];
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** Whether a 4-bit QuantizeLinear/DequantizeLinear touches a MaxPool or a Clip feeds a 4-bit Q. */
function fourBitNeighbours(model: Model): string[] {
  const fourBit = (n: Node | undefined) => !!n && ['uint4', 'int4'].includes(n.inputs[2]?.const?.dtype ?? '');
  const found: string[] = [];
  for (const n of model.graph.nodes) {
    const producer = n.inputs[0]?.producer();
    if (n.opType === 'MaxPool' && producer?.opType === 'DequantizeLinear' && fourBit(producer))
      found.push(`DQ→${n.name}`);
    if (n.opType === 'QuantizeLinear' && fourBit(n) && ['MaxPool', 'Clip'].includes(producer?.opType ?? ''))
      found.push(`${producer!.name}→Q`);
  }
  return found;
}

describe('static QDQ with 4-bit activations on a CNN with MaxPool and Clip', () => {
  for (const activationType of ['uint4', 'int4'] as const)
    for (const [label, opTypes] of [
      ['default ops', undefined],
      ['MaxPool not among the ops', STATIC_OPS.filter((op) => op !== 'MaxPool')],
    ] as const)
      it(`${activationType} activations (${label}): onnxruntime loads and runs what it writes, as the graph says`, async () => {
        const r = await quantize(poolingCnn(), {
          mode: 'static',
          calibrationData: mnistCalibration(train),
          backend,
          activationType,
          opTypes,
        });
        expect(fourBitNeighbours(r.model)).toEqual([]);
        const { optimized, plain } = await ortLogits(r.model);
        expect(optimized.length).toBe(200 * 10);
        expect(maxDiff(optimized, plain)).toBeLessThanOrEqual(stepOf(r.model) * 1.0001);
        // The layers still quantize at 4 bits, weights included (the default under 4-bit activations).
        const weightTypes = r.model.graph.nodes
          .filter((n) => n.opType === 'DequantizeLinear' && n.inputs[0]?.name.endsWith('.w_quantized'))
          .map((n) => n.inputs[0]!.const!.dtype);
        expect(weightTypes).toEqual(['int4', 'int4', 'int4']);
        expect(r.skippedNodes.map((s) => s.name)).toEqual(expect.arrayContaining(['pool1', 'pool2']));
        if (activationType === 'int4' || opTypes)
          expect(r.skippedNodes.find((s) => s.name === 'relu6')?.reason).toMatch(/Clip.*4-bit zero point/);
      }, 60_000);

  it('refuses 8-bit Conv weights under 4-bit activations, naming the Conv and the option', async () => {
    for (const weightType of ['int8', 'uint8'] as const)
      await expect(
        quantize(poolingCnn(), {
          mode: 'static',
          calibrationData: mnistCalibration(train),
          backend,
          activationType: 'uint4',
          weightType,
        }),
      ).rejects.toThrow(new RegExp(`Conv 'conv1': uint4 activations with ${weightType} weights .*--weight-type int4`));
  });

  it('leaves 8-bit placement as it was: the uint8 model passes the ONNX checker and keeps Q/DQ around MaxPool', async () => {
    const r = await quantize(poolingCnn(), { mode: 'static', calibrationData: mnistCalibration(train), backend });
    expect(r.skippedNodes.filter((s) => /4-bit/.test(s.reason ?? ''))).toEqual([]);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-4bit-')), 'uint8.onnx');
    fs.writeFileSync(file, encodeModel(r.model));
    expect(checkModels([file]).get(file)).toBeNull();
  });

  it('the QAT convert path writes a 4-bit model onnxruntime runs, equal to the fake-quant forward within one step', async () => {
    const float = poolingCnn();
    const ptq = await quantize(float, {
      mode: 'static',
      calibrationData: mnistCalibration(train),
      backend,
      activationType: 'uint4',
    });
    const qat = await QatModel.fromQdq(ptq.model, { float, learnScales: true });
    const data = new TensorDataset(
      { image: mnistBatch(train.images.slice(0, 200)) },
      Int32Array.from(train.labels.slice(0, 200)),
    );
    await trainQat(qat, data, { epochs: 1, learningRate: 1e-3 });
    const converted = qat.toQdq();
    const trained = tf.tidy(() =>
      qat.trainable.forward({ image: tf.tensor(digits.data, [...digits.dims]) }).logits.dataSync(),
    );
    const { optimized } = await ortLogits(converted);
    expect(maxDiff(optimized, trained)).toBeLessThanOrEqual(stepOf(converted) * 1.0001);
    qat.dispose();
  }, 120_000);

  it('`edgeml quantize --mode static --activation-type uint4` writes the MNIST CNN at 4 bits, and onnxruntime runs it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-4bit-cli-'));
    const calibration = path.join(dir, 'calibration');
    fs.mkdirSync(calibration);
    mnistCalibration(train).forEach((s, i) =>
      fs.writeFileSync(path.join(calibration, `s${i}.npy`), encodeNpy(s.image)),
    );
    const out = path.join(dir, 'cnn.uint4.onnx');
    const fixture = path.resolve('tests/fixtures/mnist-cnn.onnx');
    const args = ['quantize', fixture, '-o', out, '--mode', 'static', '--activation-type', 'uint4'];
    const r = await runCli([...args, '--calibration', calibration, '--sqnr-floor', 'off', '--json']);
    expect(r.code, r.err).toBe(0);
    const session = await ort.InferenceSession.create(out, { logSeverityLevel: 4 });
    const logits = (await session.run({ image: new ort.Tensor('float32', digits.data, digits.dims) })).logits;
    expect(logits.dims).toEqual([200, 10]);
    await session.release();
    const refused = await runCli([...args, '--weight-type', 'int8', '--calibration', calibration]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/Conv 'conv': uint4 activations with int8 weights/);
  }, 120_000);
});
