/**
 * Images as model inputs, for Node: PNG/JPEG decoded (pngjs, jpeg-js), then resized, scaled,
 * normalised and laid out by `decodedImageTensor` (./samples.ts, shared with browsers).
 * Calibration folders and training sets (in @edgeml/distill) read images through this one module.
 */
import * as fs from 'node:fs';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { InvalidArgumentError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { decodedImageTensor, type DecodedImage, type ImagePreprocess } from './samples.js';

export type { ImagePreprocess };

/** File names this module decodes. */
export const IMAGE_FILE = /\.(png|jpe?g)$/i;

/** Whether the folder holds images directly. */
export function isImageFolder(dir: string): boolean {
  return fs.readdirSync(dir).some((f) => IMAGE_FILE.test(f));
}

function decodeImage(file: string): DecodedImage {
  const bytes = fs.readFileSync(file);
  try {
    if (/\.png$/i.test(file)) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, rgba: png.data };
    }
    const img = jpeg.decode(bytes, { useTArray: true, maxMemoryUsageInMB: 512 });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    throw new InvalidArgumentError(`image '${file}' cannot be decoded: ${(e as Error).message}`, 'image');
  }
}

/** One image → a [1, C, H, W] (or [1, H, W, C]) float32 tensor. */
export function imageTensor(file: string, p: ImagePreprocess): Tensor {
  return decodedImageTensor(decodeImage(file), p);
}
