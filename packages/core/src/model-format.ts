/**
 * File formats behind one contract, so that a command picks the format by the file's extension
 * (`-o model.tflite`). ONNX is core's own; other packages export theirs (`@edgeml/tflite`'s
 * `tfliteFormat`), and the CLI lists the ones it composes.
 */
import type { Model } from './ir/model.js';
import { decodeModel } from './onnx/decode.js';
import { encodeModel, type EncodeOptions } from './onnx/encode.js';

/** A model file format: what it reads (`decode`) and writes (`encode`), and its file extensions. */
export interface ModelFormat<Options = unknown> {
  /** Short name, e.g. 'onnx', 'tflite'. */
  readonly name: string;
  /** Lower-case extensions with the dot, e.g. ['.tflite']. */
  readonly extensions: readonly string[];
  /** Bytes → model, for formats that can be read into the IR. */
  decode?(bytes: Uint8Array): Model;
  /** Model → bytes; the model is not modified. */
  encode?(model: Model, options?: Options): Uint8Array | Promise<Uint8Array>;
}

/** ONNX, read and written losslessly by core's codec. */
export const onnxFormat: ModelFormat<EncodeOptions> = {
  name: 'onnx',
  extensions: ['.onnx'],
  decode: (bytes) => decodeModel(bytes),
  encode: (model, options) => encodeModel(model, options),
};

/**
 * The format of `file` among `formats`, by its extension (case-insensitive); undefined when none matches.
 *
 * @example
 * ```ts
 * formatForFile('out/det.TFLITE', [onnxFormat, tfliteFormat])?.name; // 'tflite'
 * ```
 */
export function formatForFile<F extends ModelFormat<never>>(file: string, formats: readonly F[]): F | undefined {
  const lower = file.toLowerCase();
  return formats.find((f) => f.extensions.some((ext) => lower.endsWith(ext)));
}
