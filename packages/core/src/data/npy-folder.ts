/**
 * Calibration samples from a folder of .npy files, by the rules of `npySamples` (./samples.ts):
 * with one model input any file name works; with several, files are named
 * `<inputName>.<anything>.npy` and grouped by the part after the input name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../tensor/tensor.js';
import { npySamples } from './samples.js';

/**
 * Every sample of a folder of .npy files, as feeds for `model`; errors name the folder or file
 * and what to do.
 *
 * @example
 * ```ts
 * const samples = loadNpyFolder('calibration/', model); // [{ input: Tensor }, ...]
 * ```
 */
export function loadNpyFolder(dir: string, model: Model): Record<string, Tensor>[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new InvalidArgumentError(`calibration folder '${dir}' does not exist or is not a folder`, 'calibration');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.npy'));
  if (files.length === 0)
    throw new InvalidArgumentError(`calibration folder '${dir}' has no .npy files`, 'calibration');
  return npySamples(
    files.map((name) => ({ name, path: path.join(dir, name), bytes: fs.readFileSync(path.join(dir, name)) })),
    model,
  );
}
