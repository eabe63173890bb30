// Worker side: the calibration files a user dropped, as feeds for the model (core's sample rules).
import {
  InvalidArgumentError,
  decodedImageTensor,
  imagePreprocessFor,
  npySamples,
  type DecodedImage,
  type Model,
  type Tensor,
} from '@edgeml/core';
import type { DroppedFile } from './protocol.js';

const IMAGE = /\.(png|jpe?g|webp|gif|bmp)$/i;

/** The browser's own decoder: any image format it shows, into RGBA pixels. */
async function decodeImage(file: DroppedFile): Promise<DecodedImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([file.bytes as BlobPart], { type: file.type }));
  } catch (e) {
    throw new InvalidArgumentError(`image '${file.name}' cannot be decoded: ${(e as Error).message}`, 'calibration');
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d')!;
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  return { width: canvas.width, height: canvas.height, rgba: data };
}

/** Images (for a model with one 4-D image input, resized to it) or .npy files, not both. */
export async function calibrationSamples(files: DroppedFile[], model: Model): Promise<Record<string, Tensor>[]> {
  if (files.length === 0)
    throw new InvalidArgumentError(
      'static int8 needs calibration data: add images or .npy files of real inputs under "Calibration files"',
      'calibration',
    );
  const images = files.filter((f) => IMAGE.test(f.name));
  const arrays = files.filter((f) => f.name.endsWith('.npy'));
  const other = files.find((f) => !IMAGE.test(f.name) && !f.name.endsWith('.npy'));
  if (other)
    throw new InvalidArgumentError(
      `calibration file '${other.name}' is neither an image nor a .npy file`,
      'calibration',
    );
  if (images.length && arrays.length)
    throw new InvalidArgumentError('give calibration images or .npy files, not both', 'calibration');
  if (arrays.length) return npySamples(arrays, model);
  const preprocess = imagePreprocessFor(model);
  const sorted = [...images].sort((a, b) => (a.name < b.name ? -1 : 1));
  const samples: Record<string, Tensor>[] = [];
  for (const f of sorted) samples.push({ [preprocess.input]: decodedImageTensor(await decodeImage(f), preprocess) });
  return samples;
}
