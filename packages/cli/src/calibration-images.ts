/**
 * Calibration samples from a folder of PNG/JPEG images (decoding and resizing live in
 * @edgeml/distill, which reads training images the same way).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, type Tensor } from '@edgeml/core';
import { imageTensor, isImageFolder, type ImagePreprocess } from '@edgeml/distill';

export { isImageFolder, imageTensor, type ImagePreprocess };

/** Every image of the folder, in name order, as samples for the model's single input. */
export function loadCalibrationImages(dir: string, inputName: string, p: ImagePreprocess): Record<string, Tensor>[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort();
  if (!files.length)
    throw new InvalidArgumentError(`calibration folder '${dir}' has no .png or .jpg images`, 'calibration');
  return files.map((f) => ({ [inputName]: imageTensor(path.join(dir, f), p) }));
}
