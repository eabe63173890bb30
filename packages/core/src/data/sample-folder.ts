/**
 * A folder of samples for a model, whatever it holds: .npy files (any inputs), or PNG/JPEG
 * images for a model with one 4-D image input, sized and laid out from the model itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../tensor/tensor.js';
import { IMAGE_FILE, imageTensor, isImageFolder } from './images.js';
import { loadNpyFolder } from './npy-folder.js';

/** How images become inputs; what is left out comes from the model's input shape. */
export interface ImageSampleOptions {
  /** Default nchw. */
  layout?: 'nchw' | 'nhwc';
  /** Resize to this; default the model's fixed input size. */
  width?: number;
  height?: number;
  /** Pixel multiplier (default 1/255), then per-channel mean and std (default 0 and 1). */
  scale?: number;
  mean?: number[];
  std?: number[];
}

/**
 * Samples from `dir` as feeds for `model`: .npy files (see {@link loadNpyFolder}) or, when the
 * folder holds images, one tensor per image for the model's single image input.
 *
 * @example
 * ```ts
 * const samples = loadSampleFolder('calibration/', model, { layout: 'nchw', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
 * ```
 */
export function loadSampleFolder(dir: string, model: Model, images: ImageSampleOptions = {}): Record<string, Tensor>[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory() || !isImageFolder(dir)) return loadNpyFolder(dir, model);
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  const shape = inputs[0]?.shape;
  if (inputs.length !== 1 || shape?.length !== 4)
    throw new InvalidArgumentError(
      `image samples need a model with one 4-D image input; this one takes ${inputs.map((v) => `${v.name}[${v.shape ? v.shape.join(',') : '?'}]`).join(', ')}`,
      'images',
    );
  const layout = images.layout ?? 'nchw';
  const [hIdx, wIdx, cIdx] = layout === 'nchw' ? [2, 3, 1] : [1, 2, 3];
  const fixed = (i: number) => (typeof shape[i] === 'number' ? shape[i] : undefined);
  const width = images.width ?? fixed(wIdx);
  const height = images.height ?? fixed(hIdx);
  if (!width || !height)
    throw new InvalidArgumentError(
      "the model's image size is not fixed; give the width and height to resize to",
      'size',
    );
  const files = fs
    .readdirSync(dir)
    .filter((f) => IMAGE_FILE.test(f))
    .sort();
  const p = {
    width,
    height,
    layout,
    channels: shape[cIdx] === 1 ? (1 as const) : (3 as const),
    scale: images.scale ?? 1 / 255,
    mean: images.mean ?? [0],
    std: images.std ?? [1],
  };
  return files.map((f) => ({ [inputs[0].name]: imageTensor(path.join(dir, f), p) }));
}
