/**
 * Training on tfjs-core through @edgeml/distill: distillation from an onnxruntime teacher,
 * fine-tuning, BatchNorm statistics, export back to ONNX (judged by onnxruntime and the
 * official checker), weights in and out, and data layouts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, encodeModel, encodeNpy } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import {
  DistillationTrainer,
  TensorDataset,
  TrainableModel,
  buildCnn,
  evaluate,
  fineTune,
  fitLayout,
  loadImageFolder,
  loadMnist,
  loadNpyDataset,
  tf,
  type CnnSpec,
} from '@edgeml/distill';
import { runOrt } from './support/models.js';
import { checkModels } from './support/onnx-checker.js';

const TEACHER = path.join(__dirname, 'fixtures', 'mnist-cnn.onnx');
const SHAPES = { image: [null, 1, 28, 28] };
const SPEC: CnnSpec = {
  input: [1, 28, 28],
  convs: [
    { channels: 6, pool: true },
    { channels: 12, pool: true },
  ],
  classes: 10,
};

async function digits(trainCount: number, testCount: number) {
  const { train, test } = await loadMnist();
  // A seeded sample of the 8,000 training digits and of the 2,000 held-out ones.
  const [, trainPart] = train.fitTo(SHAPES).split(trainCount / train.size, 3);
  const [, testPart] = test.fitTo(SHAPES).split(testCount / test.size, 4);
  return { train: trainPart, test: testPart };
}

/** Executor outputs in inference mode, for comparison with onnxruntime. */
function executorLogits(model: TrainableModel, images: Tensor): Float32Array {
  return tf.tidy(
    () =>
      model
        .forward({ image: tf.tensor(images.data as Float32Array, [...images.dims]) })
        .logits.dataSync() as Float32Array,
  );
}

describe('distillation and fine-tuning', () => {
  it('a short distillation from an onnxruntime teacher lowers the loss and beats the untrained student; the export runs on onnxruntime as in training', async () => {
    const { train, test } = await digits(1500, 500);
    const student = await TrainableModel.fromModel(buildCnn({ ...SPEC, seed: 5 }));
    const before = await evaluate(student, test);
    const teacher = await new NodeBackend().createSession(TEACHER);
    const report = await new DistillationTrainer(student, teacher).fit(train, {
      epochs: 2,
      batchSize: 50,
      learningRate: 3e-3,
      temperature: 4,
      alpha: 0.9,
      validation: test,
    });
    await teacher.dispose();
    expect(report.epochs).toHaveLength(2);
    expect(report.epochs[1].loss).toBeLessThan(report.epochs[0].loss);
    const after = await evaluate(student, test);
    expect(after.accuracy).toBeGreaterThan(before.accuracy + 0.4);
    expect(after.accuracy).toBeGreaterThan(0.8);

    const exported = student.toModel();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-distill-')), 'student.onnx');
    fs.writeFileSync(file, encodeModel(exported));
    expect(checkModels([file]).get(file)).toBeNull();
    const images = test.take([0, 1, 2, 3, 4, 5, 6, 7]).inputs.image;
    const ort = (await runOrt(file, { image: images })).logits.data as Float32Array;
    const ours = executorLogits(student, images);
    expect(Math.max(...Array.from(ours, (v, i) => Math.abs(v - ort[i])))).toBeLessThan(1e-4);
    student.dispose();
  });

  it('fine-tunes a BatchNorm CNN: running statistics move, and onnxruntime reproduces inference with them', async () => {
    const { train, test } = await digits(400, 200);
    const model = await TrainableModel.fromModel(buildCnn({ ...SPEC, batchNorm: true, seed: 6 }));
    const statsBefore = model.getWeights()['bn0.mean'].toFloat64();
    const checkpoints: number[] = [];
    const report = await fineTune(model, train, {
      epochs: 2,
      batchSize: 50,
      optimizer: 'sgd',
      momentum: 0.9,
      learningRate: 0.02,
      schedule: 'cosine',
      validation: test,
      onCheckpoint: (e) => {
        checkpoints.push(e);
      },
    });
    expect(checkpoints).toEqual([0, 1]);
    expect(report.epochs.map((e) => e.learningRate)).toEqual([0.02, 0.01]);
    expect(report.epochs[1].validationAccuracy!).toBeGreaterThan(0.6);
    const statsAfter = model.getWeights()['bn0.mean'].toFloat64();
    expect(statsAfter.some((v, i) => Math.abs(v - statsBefore[i]) > 1e-3)).toBe(true);
    const images = test.take([0, 1, 2, 3]).inputs.image;
    const ort = (await runOrt(model.toModel(), { image: images })).logits.data as Float32Array;
    const ours = executorLogits(model, images);
    expect(Math.max(...Array.from(ours, (v, i) => Math.abs(v - ort[i])))).toBeLessThan(1e-3);
  });

  it('keeps frozen weights fixed, and moves weights in and out by name', async () => {
    const { train } = await digits(200, 10);
    const model = await TrainableModel.fromModel(buildCnn({ ...SPEC, seed: 7 }), { freeze: [/^conv0\./] });
    const w0 = model.getWeights();
    await fineTune(model, train, { epochs: 1, batchSize: 50 });
    const w1 = model.getWeights();
    expect(Array.from(w1['conv0.weight'].toFloat64())).toEqual(Array.from(w0['conv0.weight'].toFloat64()));
    expect(Array.from(w1['head.weight'].toFloat64())).not.toEqual(Array.from(w0['head.weight'].toFloat64()));
    // Federated-averaging style: put the old weights back and the outputs return too.
    model.setWeights(w0);
    expect(Array.from(model.getWeights()['head.weight'].toFloat64())).toEqual(
      Array.from(w0['head.weight'].toFloat64()),
    );
    expect(() => model.setWeights({ 'head.weight': Tensor.from('float32', [2], [1, 2]) })).toThrow(
      /\[10,\d+\] in the model, got \[2\]/,
    );
    expect(() => model.setWeights({ nope: Tensor.from('float32', [1], [1]) })).toThrow(/no float weight 'nope'/);
  });

  it('refuses settings that cannot train', async () => {
    const { train } = await digits(100, 10);
    const model = await TrainableModel.fromModel(buildCnn(SPEC));
    await expect(fineTune(model, train, { epochs: 0 })).rejects.toThrow(/epochs must be a positive integer/);
    await expect(new DistillationTrainer(model, model).fit(train, { epochs: 1, temperature: 0 })).rejects.toThrow(
      /temperature must be positive/,
    );
    await expect(new DistillationTrainer(model, model).fit(train, { epochs: 1, alpha: 2 })).rejects.toThrow(
      /alpha must be in \[0, 1\]/,
    );
    await expect(fineTune(model, train, { epochs: 1, outputName: 'probs' })).rejects.toThrow(/no output 'probs'/);
  });
});

describe('data', () => {
  it('fits samples to the layout the model declares: flat, NCHW, or NHWC to NCHW', () => {
    const nhwc = Tensor.from(
      'float32',
      [1, 2, 2, 3],
      Array.from({ length: 12 }, (_, i) => i),
    );
    // channel c of pixel (h, w) sits at (h*2 + w)*3 + c in NHWC; NCHW wants c*4 + h*2 + w.
    expect(Array.from(fitLayout(nhwc, [null, 3, 2, 2], 'x').toFloat64())).toEqual([
      0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11,
    ]);
    const flat = Tensor.from(
      'float32',
      [2, 4],
      Array.from({ length: 8 }, (_, i) => i),
    );
    expect(fitLayout(flat, ['batch', 1, 2, 2], 'x').dims).toEqual([2, 1, 2, 2]);
    expect(() => fitLayout(flat, [null, 1, 3, 3], 'image')).toThrow(
      /input 'image': samples of shape \[4\] \(4 values\) cannot fit the model's \[\?, 1, 3, 3\]/,
    );
  });

  it('reads a folder of class subfolders of PNG images, labelled by folder, resized and scaled', async () => {
    const { PNG } = await import('pngjs');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-img-'));
    const solid = (grey: number) => {
      const png = new PNG({ width: 8, height: 8 });
      png.data.fill(grey);
      for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
      return PNG.sync.write(png);
    };
    for (const [cls, grey] of [
      ['cat', 51],
      ['dog', 204],
    ] as const) {
      fs.mkdirSync(path.join(dir, cls));
      fs.writeFileSync(path.join(dir, cls, 'a.png'), solid(grey));
      fs.writeFileSync(path.join(dir, cls, 'b.png'), solid(grey));
    }
    const { data, classes } = loadImageFolder(dir, {
      width: 4,
      height: 4,
      channels: 1,
      scale: 1 / 255,
      mean: [0],
      std: [1],
      layout: 'nchw',
    });
    expect(classes).toEqual(['cat', 'dog']);
    expect(Array.from(data.labels!)).toEqual([0, 0, 1, 1]);
    expect(data.inputs.image.dims).toEqual([4, 1, 4, 4]);
    const px = data.inputs.image.toFloat64();
    expect(px[0]).toBeCloseTo(51 / 255, 5); // grey 51 everywhere, after bilinear resizing
    expect(px[3 * 16]).toBeCloseTo(204 / 255, 5);
    expect(() =>
      loadImageFolder(path.join(dir, 'nope'), {
        width: 4,
        height: 4,
        channels: 1,
        scale: 1,
        mean: [0],
        std: [1],
        layout: 'nchw',
      }),
    ).toThrow(/is not a folder of class subfolders/);
  });

  it('reads a folder of .npy files and shuffles by seed, the same each run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-npy-'));
    fs.writeFileSync(
      path.join(dir, 'x.npy'),
      encodeNpy(
        Tensor.from(
          'float32',
          [5, 2],
          Array.from({ length: 10 }, (_, i) => i),
        ),
      ),
    );
    fs.writeFileSync(path.join(dir, 'labels.npy'), encodeNpy(Tensor.from('int64', [5], [0n, 1n, 2n, 3n, 4n])));
    const data = await loadNpyDataset(dir, ['x']);
    expect(data.size).toBe(5);
    const order = async (seed: number) => {
      const out: number[] = [];
      for await (const b of data.batches({ batchSize: 2, shuffle: true, seed })) out.push(...b.labels!);
      return out;
    };
    const [a, b, c] = [await order(1), await order(1), await order(2)];
    expect(a).toEqual(b);
    expect([...a].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(c).not.toEqual(a);
    await expect(loadNpyDataset(dir, ['y'])).rejects.toThrow(/y\.npy' is missing/);
    expect(() => new TensorDataset({ x: Tensor.from('float32', [2, 1], [1, 2]) }, Int32Array.of(1))).toThrow(
      /1 labels for 2 samples/,
    );
  });
});
