/**
 * The MNIST CNN of the tests, half its channels removed, fine-tuned with @edgeml/distill:
 * held-out accuracy (measured by onnxruntime) within 1 point of the float model's.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, encodeModel, type Model } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { TrainableModel, fineTune, loadMnist } from '@edgeml/distill';
import { modelFigures } from '@edgeml/core';
import { pruneChannels, pruneIteratively } from '@edgeml/prune';
import { runOrt } from './support/models.js';
import { mnistSplit } from './support/mnist.js';

const FIXTURE = path.join(__dirname, 'fixtures', 'mnist-cnn.onnx');
const { test } = mnistSplit();

async function accuracy(model: Model): Promise<number> {
  const pixels = new Float32Array(test.images.length * 784);
  test.images.forEach((img, i) => pixels.set(img, i * 784));
  const logits = (
    await runOrt(encodeModel(model), { image: Tensor.from('float32', [test.images.length, 1, 28, 28], pixels) })
  ).logits.data as Float32Array;
  let hit = 0;
  test.labels.forEach((label, i) => {
    const row = logits.subarray(i * 10, i * 10 + 10);
    if (row.indexOf(Math.max(...row)) === label) hit++;
  });
  return (100 * hit) / test.labels.length;
}

async function tune(model: Model, epochs: number): Promise<Model> {
  const { train } = await loadMnist();
  const t = await TrainableModel.fromModel(model);
  await fineTune(t, train.fitTo({ image: [null, 1, 28, 28] }), { epochs, batchSize: 64, learningRate: 1e-3 });
  const out = t.toModel();
  t.dispose();
  return out;
}

describe('prune and fine-tune the MNIST CNN', () => {
  it('50 % of the channels removed, fine-tuned: within 1 point of float, about half the parameters', async () => {
    const float = await loadModel(FIXTURE);
    const floatAcc = await accuracy(float);
    const { model: pruned, groups } = await pruneChannels(float, { ratio: 0.5, criterion: 'l1' });
    expect(groups).toEqual([{ producers: ['conv'], channelsBefore: 8, channelsAfter: 4 }]);
    const prunedAcc = await accuracy(pruned);
    const tuned = await tune(pruned, 2);
    const tunedAcc = await accuracy(tuned);
    const [before, after] = [modelFigures(float), modelFigures(tuned)];
    console.log(
      `MNIST CNN: float ${floatAcc.toFixed(2)} %, 50 % channels pruned ${prunedAcc.toFixed(2)} %, fine-tuned ${tunedAcc.toFixed(2)} %; params ${before.params} -> ${after.params}, MACs ${before.macs} -> ${after.macs}`,
    );
    expect(Math.abs(tunedAcc - floatAcc)).toBeLessThanOrEqual(1);
    expect(after.params).toBeLessThan(before.params * 0.55);
    expect(after.macs).toBeLessThan(before.macs * 0.55);
  });

  it('iteratively, on a polynomial schedule, with a fine-tune and a score at every step', async () => {
    const float = await loadModel(FIXTURE);
    const seen: number[] = [];
    const r = await pruneIteratively(float, {
      ratio: 0.5,
      steps: 2,
      fineTune: (m) => tune(m, 1),
      evaluate: accuracy,
      onStep: (s) => seen.push(s.step),
    });
    expect(seen).toEqual([1, 2]);
    expect(r.steps.map((s) => s.ratio)).toEqual([0.5 * (1 - 0.5 ** 3), 0.5]);
    expect(r.steps[1].groups[0].channelsAfter).toBe(4);
    expect(r.steps[1].metric!).toBeGreaterThan(90);
  });
});
