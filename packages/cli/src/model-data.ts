import * as fs from 'node:fs';
import { InvalidArgumentError, type Model } from '@edgeml/core';
import type { ImagePreprocess } from '@edgeml/core/node';
import { TensorDataset, loadImageFolder, loadMnist, loadNpyDataset } from '@edgeml/distill';

/** Data for a model's inputs: a single unnamed-match input takes the data's only array, reshaped to its layout. */
export function forModel(data: TensorDataset, model: Model): TensorDataset {
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  const named =
    inputs.length === 1 && !data.inputs[inputs[0].name]
      ? new TensorDataset({ [inputs[0].name]: Object.values(data.inputs)[0] }, data.labels)
      : data;
  return named.fitTo(Object.fromEntries(inputs.map((v) => [v.name, v.shape])));
}

/** Image size and layout from a model's 4-D image input ([N,C,H,W] or [N,H,W,C], C = 1 or 3). */
function imageSpec(model: Model): ImagePreprocess {
  const input = model.graph.inputs.find((v) => !model.graph.initializers.has(v.name));
  const s = input?.shape;
  const nchw = s?.length === 4 && (s[1] === 1 || s[1] === 3);
  const nhwc = s?.length === 4 && (s[3] === 1 || s[3] === 3);
  if (!s || (!nchw && !nhwc) || s.some((d, i) => i > 0 && typeof d !== 'number'))
    throw new InvalidArgumentError(
      `image folders need a student with one fixed-size image input ([N,C,H,W] or [N,H,W,C]); it takes [${s?.map((d) => d ?? '?') ?? '?'}]`,
      'data',
    );
  const [c, h, w] = (nchw ? [s[1], s[2], s[3]] : [s[3], s[1], s[2]]) as number[];
  return {
    width: w,
    height: h,
    channels: c as 1 | 3,
    scale: 1 / 255,
    mean: [0],
    std: [1],
    layout: nchw ? 'nchw' : 'nhwc',
  };
}

async function folder(dir: string, inputNames: string[], model: Model): Promise<TensorDataset> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new InvalidArgumentError(
      `--data takes 'mnist', a folder of .npy files (one per model input, plus labels.npy), or a folder of class subfolders of images; '${dir}' is none of these`,
      'data',
    );
  const hasNpy = fs.readdirSync(dir).some((f) => f.endsWith('.npy'));
  return hasNpy ? loadNpyDataset(dir, inputNames) : loadImageFolder(dir, imageSpec(model)).data;
}

/** Training (and held-out) data for `--data <dir|mnist>` and `--validation <dir>`, as the training commands take it. */
export async function dataFor(
  spec: string,
  inputNames: string[],
  validation: string | undefined,
  model: Model,
): Promise<{ train: TensorDataset; test?: TensorDataset }> {
  if (spec === 'mnist') {
    const { train, test } = await loadMnist();
    return { train, test };
  }
  return {
    train: await folder(spec, inputNames, model),
    test: validation ? await folder(validation, inputNames, model) : undefined,
  };
}
