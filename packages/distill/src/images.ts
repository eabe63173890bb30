/** Labelled image datasets from class folders (decoding lives in @edgeml/core/node). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, Tensor } from '@edgeml/core';
import { IMAGE_FILE, imageTensor, type ImagePreprocess } from '@edgeml/core/node';
import { TensorDataset } from './data.js';

/**
 * A labelled image dataset from a folder with one subfolder per class (`digits/0/*.png`,
 * `digits/1/*.png` …): labels are the class folders in name order.
 *
 * @example
 * ```ts
 * const { data, classes } = loadImageFolder('photos', { width: 96, height: 96, channels: 3, scale: 1 / 255, mean: [0], std: [1], layout: 'nchw' });
 * ```
 */
export function loadImageFolder(dir: string, p: ImagePreprocess): { data: TensorDataset; classes: string[] } {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new InvalidArgumentError(`'${dir}' is not a folder of class subfolders`, 'data');
  const classes = fs
    .readdirSync(dir)
    .filter((d) => fs.statSync(path.join(dir, d)).isDirectory())
    .sort();
  const samples: [number, string][] = [];
  classes.forEach((c, label) => {
    for (const f of fs
      .readdirSync(path.join(dir, c))
      .filter((x) => IMAGE_FILE.test(x))
      .sort())
      samples.push([label, path.join(dir, c, f)]);
  });
  if (!samples.length)
    throw new InvalidArgumentError(`'${dir}' has no class subfolders with .png or .jpg images`, 'data');
  const per = p.channels * p.height * p.width;
  const pixels = new Float32Array(samples.length * per);
  samples.forEach(([, file], i) => pixels.set(imageTensor(file, p).data as Float32Array, i * per));
  const dims =
    p.layout === 'nchw'
      ? [samples.length, p.channels, p.height, p.width]
      : [samples.length, p.height, p.width, p.channels];
  return {
    data: new TensorDataset(
      { image: Tensor.from('float32', dims, pixels) },
      Int32Array.from(samples, ([l]) => l),
    ),
    classes,
  };
}
