/**
 * Images as model inputs, for Node: PNG/JPEG decoded (pngjs, jpeg-js), resized bilinearly,
 * scaled, normalised per channel, laid out NCHW or NHWC. Calibration folders and training sets
 * (in @edgeml/distill) read images through this one module.
 */
import * as fs from 'node:fs';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { InvalidArgumentError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';

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

/** File names this module decodes. */
export const IMAGE_FILE = /\.(png|jpe?g)$/i;

/** Whether the folder holds images directly. */
export function isImageFolder(dir: string): boolean {
  return fs.readdirSync(dir).some((f) => IMAGE_FILE.test(f));
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
