/**
 * A folder of samples for a model, whatever it holds: .npy files (any inputs), or PNG/JPEG
 * images for a model with one 4-D image input, sized and laid out from the model itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../tensor/tensor.js';
import { IMAGE_FILE, imageTensor, isImageFolder } from './images.js';
import { loadNpyFolder } from './npy-folder.js';
import { imagePreprocessFor, type ImageSampleOptions } from './samples.js';

export type { ImageSampleOptions };

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
  const p = imagePreprocessFor(model, images);
  const files = fs
    .readdirSync(dir)
    .filter((f) => IMAGE_FILE.test(f))
    .sort();
  return files.map((f) => ({ [p.input]: imageTensor(path.join(dir, f), p) }));
}
