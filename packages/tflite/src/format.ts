import type { ModelFormat } from '@edgeml/core';
import { exportTflite, type TfliteExportOptions } from './export.js';

/**
 * The .tflite file format (encode only: TFLite files are run, not read back into the ONNX IR).
 *
 * @example
 * ```ts
 * const format = formatForFile('model.tflite', [onnxFormat, tfliteFormat]);
 * const bytes = await format!.encode!(model, { shapes: { x: [1, 3, 224, 224] } });
 * ```
 */
export const tfliteFormat: ModelFormat<TfliteExportOptions> = {
  name: 'tflite',
  extensions: ['.tflite'],
  encode: async (model, options) => (await exportTflite(model, options)).bytes,
};
