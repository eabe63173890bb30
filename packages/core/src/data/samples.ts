/**
 * Samples (calibration, evaluation) from file contents, for any platform: `.npy` files and
 * decoded images become feeds for a model. The Node readers of folders (`loadNpyFolder`,
 * `loadSampleFolder` in `@edgeml/core/node`) and pages that take dropped files (EdgeML
 * Studio) share these rules, so a folder and the same files dropped on a page give the same
 * samples.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { decodeNpy } from '../tensor/npy.js';
import { Tensor } from '../tensor/tensor.js';

/** One file's contents: `name` decides which input it feeds, `path` (default `name`) is how messages name it. */
export interface SampleFile {
  name: string;
  bytes: Uint8Array;
  path?: string;
}

/** A decoded image: RGBA pixels, row by row (what a canvas's `getImageData` or pngjs gives). */
export interface DecodedImage {
  width: number;
  height: number;
  rgba: Uint8Array | Uint8ClampedArray;
}

/** How images become a model input. */
export interface ImagePreprocess {
  width: number;
  height: number;
  /** Multiplier applied to 0..255 pixel values first (default 1/255). */
  scale: number;
  /** Per-channel mean and std, subtracted and divided after scaling (default 0 and 1). */
  mean: number[];
  std: number[];
  layout: 'nchw' | 'nhwc';
  /** 1 (grey) or 3 (RGB). */
  channels: 1 | 3;
}

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

const graphInputs = (model: Model): Value[] => model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));

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
 * Samples from `.npy` files, as feeds for `model`. With one model input any file name works;
 * with several, files are named `<inputName>.<anything>.npy` and grouped by the part after the
 * input name. A file holds one sample, or a batch along axis 0 when the model's batch dimension
 * is fixed at 1. Files are taken in name order.
 *
 * @example
 * ```ts
 * const samples = npySamples([{ name: 'a.npy', bytes: encodeNpy(image) }], model); // [{ input: Tensor }]
 * ```
 */
export function npySamples(files: readonly SampleFile[], model: Model): Record<string, Tensor>[] {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const inputs = graphInputs(model);
  const rankOf = (name: string) => inputs.find((v) => v.name === name)?.shape?.length ?? 0;
  const batchOf = (name: string) => {
    const d = inputs.find((v) => v.name === name)?.shape?.[0];
    return typeof d === 'number' ? d : undefined;
  };
  const samplesOf = (f: SampleFile, input: string) =>
    splitBatch(decodeNpy(f.bytes, f.path ?? f.name), rankOf(input), batchOf(input));
  if (inputs.length === 1)
    return sorted.flatMap((f) => samplesOf(f, inputs[0].name).map((t) => ({ [inputs[0].name]: t })));
  const groups = new Map<string, Record<string, Tensor[]>>();
  for (const f of sorted) {
    const input = inputs.find((v) => f.name.startsWith(`${v.name}.`));
    // Samples of an input the model has since fixed to a constant (`specialize`) are not needed.
    if (!input && [...model.graph.initializers.keys()].some((name) => f.name.startsWith(`${name}.`))) continue;
    if (!input)
      throw new InvalidArgumentError(
        `calibration file '${f.path ?? f.name}' does not start with an input name followed by a dot (inputs: ${inputs.map((v) => v.name).join(', ')})`,
        'calibration',
      );
    const key = f.name.slice(input.name.length + 1);
    const group = groups.get(key) ?? {};
    group[input.name] = samplesOf(f, input.name);
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

/**
 * How images become `model`'s single 4-D image input: its fixed size (unless `options` gives
 * one), grey when it has one channel, else RGB, scaled by 1/255 unless told otherwise.
 *
 * @example
 * ```ts
 * const p = imagePreprocessFor(model, { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
 * ```
 */
export function imagePreprocessFor(
  model: Model,
  options: ImageSampleOptions = {},
): ImagePreprocess & { input: string } {
  const inputs = graphInputs(model);
  const shape = inputs[0]?.shape;
  if (inputs.length !== 1 || shape?.length !== 4)
    throw new InvalidArgumentError(
      `image samples need a model with one 4-D image input; this one takes ${inputs.map((v) => `${v.name}[${v.shape ? v.shape.join(',') : '?'}]`).join(', ')}`,
      'images',
    );
  const layout = options.layout ?? 'nchw';
  const [hIdx, wIdx, cIdx] = layout === 'nchw' ? [2, 3, 1] : [1, 2, 3];
  const fixed = (i: number) => (typeof shape[i] === 'number' ? shape[i] : undefined);
  const width = options.width ?? fixed(wIdx);
  const height = options.height ?? fixed(hIdx);
  if (!width || !height)
    throw new InvalidArgumentError(
      "the model's image size is not fixed; give the width and height to resize to",
      'size',
    );
  return {
    input: inputs[0].name,
    width,
    height,
    layout,
    channels: shape[cIdx] === 1 ? 1 : 3,
    scale: options.scale ?? 1 / 255,
    mean: options.mean ?? [0],
    std: options.std ?? [1],
  };
}

/**
 * One decoded image → a [1, C, H, W] (or [1, H, W, C]) float32 tensor: resized bilinearly
 * (pixel centres aligned), grey by ITU-R BT.601 luma when `p.channels` is 1, scaled, then
 * normalised per channel.
 *
 * @example
 * ```ts
 * const t = decodedImageTensor({ width: 2, height: 1, rgba: new Uint8Array([255, 255, 255, 255, 0, 0, 0, 255]) },
 *   { width: 2, height: 1, channels: 1, layout: 'nchw', scale: 1 / 255, mean: [0], std: [1] }); // [[[[1, 0]]]]
 * ```
 */
export function decodedImageTensor(img: DecodedImage, p: ImagePreprocess): Tensor {
  const { width: W, height: H, channels: C } = p;
  const out = new Float32Array(C * H * W);
  const sx = img.width / W,
    sy = img.height / H;
  for (let y = 0; y < H; y++) {
    const fy = Math.max(0, Math.min(img.height - 1, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy),
      y1 = Math.min(img.height - 1, y0 + 1),
      wy = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.max(0, Math.min(img.width - 1, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx),
        x1 = Math.min(img.width - 1, x0 + 1),
        wx = fx - x0;
      const px = (xx: number, yy: number, c: number) => img.rgba[(yy * img.width + xx) * 4 + c];
      const rgb = [0, 1, 2].map(
        (c) =>
          (px(x0, y0, c) * (1 - wx) + px(x1, y0, c) * wx) * (1 - wy) +
          (px(x0, y1, c) * (1 - wx) + px(x1, y1, c) * wx) * wy,
      );
      const values = C === 1 ? [0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]] : rgb;
      values.forEach((v, c) => {
        const n = (v * p.scale - (p.mean[c] ?? p.mean[0] ?? 0)) / (p.std[c] ?? p.std[0] ?? 1);
        out[p.layout === 'nchw' ? (c * H + y) * W + x : (y * W + x) * C + c] = n;
      });
    }
  }
  return Tensor.from('float32', p.layout === 'nchw' ? [1, C, H, W] : [1, H, W, C], out);
}
