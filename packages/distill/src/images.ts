/**
 * Images as model inputs: PNG/JPEG decoded (pngjs, jpeg-js), resized bilinearly, scaled,
 * normalised per channel, laid out NCHW or NHWC — for calibration data and training sets.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { InvalidArgumentError, Tensor } from '@edgeml/core';
import { TensorDataset } from './data.js';

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

const IMAGE = /\.(png|jpe?g)$/i;

/** Whether the folder holds images directly. */
export function isImageFolder(dir: string): boolean {
  return fs.readdirSync(dir).some((f) => IMAGE.test(f));
}

function decodeImage(file: string): { width: number; height: number; rgba: Uint8Array } {
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
  const img = decodeImage(file);
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
      .filter((x) => IMAGE.test(x))
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
