/**
 * Calibration samples from a folder of .npy files: with one model input any file name
 * works; with several, files are named `<inputName>.<anything>.npy` and grouped by the
 * part after the input name. A file holds one sample, or a batch along axis 0 when the
 * model's batch dimension is fixed at 1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { decodeNpy } from '../tensor/npy.js';
import { Tensor } from '../tensor/tensor.js';

/** One file → samples: add a missing batch axis, or split a batch when the model takes batch 1. */
function splitBatch(t: Tensor, expectedRank: number, fixedBatch: number | undefined): Tensor[] {
  if (t.dims.length === expectedRank - 1) return [t.reshape([1, ...t.dims])];
  if (fixedBatch === 1 && t.dims.length === expectedRank && t.dims[0] > 1) {
    const per = t.byteLength / t.dims[0];
    return Array.from({ length: t.dims[0] }, (_, i) =>
      Tensor.fromBytes(t.dtype, [1, ...t.dims.slice(1)], t.bytes.subarray(i * per, (i + 1) * per)),
    );
  }
  return [t];
}

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
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.npy'))
    .sort();
  if (files.length === 0)
    throw new InvalidArgumentError(`calibration folder '${dir}' has no .npy files`, 'calibration');
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  const rankOf = (name: string) => inputs.find((v) => v.name === name)?.shape?.length ?? 0;
  const batchOf = (name: string) => {
    const d = inputs.find((v) => v.name === name)?.shape?.[0];
    return typeof d === 'number' ? d : undefined;
  };
  if (inputs.length === 1) {
    const name = inputs[0].name;
    return files.flatMap((f) =>
      splitBatch(decodeNpy(fs.readFileSync(path.join(dir, f)), path.join(dir, f)), rankOf(name), batchOf(name)).map(
        (t) => ({ [name]: t }),
      ),
    );
  }
  const groups = new Map<string, Record<string, Tensor[]>>();
  for (const f of files) {
    const input = inputs.find((v) => f.startsWith(`${v.name}.`));
    // Samples of an input the model has since fixed to a constant (`specialize`) are not needed.
    if (!input && [...model.graph.initializers.keys()].some((name) => f.startsWith(`${name}.`))) continue;
    if (!input)
      throw new InvalidArgumentError(
        `calibration file '${path.join(dir, f)}' does not start with an input name followed by a dot (inputs: ${inputs.map((v) => v.name).join(', ')})`,
        'calibration',
      );
    const key = f.slice(input.name.length + 1);
    const group = groups.get(key) ?? {};
    group[input.name] = splitBatch(
      decodeNpy(fs.readFileSync(path.join(dir, f)), path.join(dir, f)),
      rankOf(input.name),
      batchOf(input.name),
    );
    groups.set(key, group);
  }
  const samples: Record<string, Tensor>[] = [];
  for (const [key, group] of groups) {
    const missing = inputs.filter((v) => !group[v.name]).map((v) => v.name);
    if (missing.length)
      throw new InvalidArgumentError(
        `calibration sample '${key}' has no file for input(s) ${missing.join(', ')} (expected ${missing.map((m) => `${m}.${key}`).join(', ')})`,
        'calibration',
      );
    const n = Math.min(...Object.values(group).map((ts) => ts.length));
    for (let i = 0; i < n; i++) samples.push(Object.fromEntries(Object.entries(group).map(([k, ts]) => [k, ts[i]])));
  }
  return samples;
}
