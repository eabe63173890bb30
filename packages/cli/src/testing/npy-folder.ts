import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor, encodeNpy } from '@edgeml/core';
import { loadMnist, type TensorDataset } from '@edgeml/distill';

/** Write a seeded sample of `count` of `data`'s samples as image.npy + labels.npy in `dir`. */
function writeNpyFolder(dir: string, data: TensorDataset, count: number, seed: number): void {
  const [, part] = data.split(count / data.size, seed);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'image.npy'), encodeNpy(part.inputs.image));
  fs.writeFileSync(
    path.join(dir, 'labels.npy'),
    encodeNpy(Tensor.from('int64', [part.size], Array.from(part.labels!, BigInt))),
  );
}

/** A fresh temporary folder with `train/` and `val/` .npy folders of MNIST digits (for tests). */
export async function mnistNpyFolders(
  prefix: string,
  trainCount: number,
  validationCount: number,
): Promise<{ dir: string; train: string; validation: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const { train, test } = await loadMnist();
  writeNpyFolder(path.join(dir, 'train'), train, trainCount, 1);
  writeNpyFolder(path.join(dir, 'val'), test, validationCount, 2);
  return { dir, train: path.join(dir, 'train'), validation: path.join(dir, 'val') };
}
