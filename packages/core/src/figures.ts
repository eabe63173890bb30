/**
 * The figures model-size work is judged by: parameters, multiply-accumulates per sample, file
 * size and compressed size. One home, so quantize, prune, benchmarks and the CLI report the same
 * numbers for the same model.
 */
import type { Model } from './ir/model.js';
import { encodeModel, encodedSize } from './onnx/encode.js';
import { fixDimensions } from './passes/fix-dims.js';
import { inferShapes } from './shape/infer.js';
import { modelStats } from './stats.js';

/** Parameters, multiply-accumulates and file size of a model. */
export interface ModelFigures {
  params: number;
  /** Per inference at the shapes the model declares (named dynamic dimensions count as 1). */
  macs: number;
  /** Bytes of the encoded .onnx file. */
  sizeBytes: number;
}

/**
 * Count a model's parameters, MACs and encoded size. Shapes are inferred on a clone, so the
 * model itself is not touched; named dimensions (batch, sequence) count as 1, so MACs are per sample.
 *
 * @example
 * ```ts
 * const { params, macs, sizeBytes } = modelFigures(model);
 * ```
 */
export function modelFigures(model: Model): ModelFigures {
  const copy = model.clone();
  const symbols = new Set(
    copy.graph.inputs.flatMap((v) => (v.shape ?? []).filter((d): d is string => typeof d === 'string')),
  );
  fixDimensions(copy, Object.fromEntries([...symbols].map((d) => [d, 1])));
  inferShapes(copy, { strict: false });
  const s = modelStats(copy);
  return { params: s.parameters, macs: s.macs, sizeBytes: encodedSize(model) };
}

/**
 * Bytes of the model's .onnx file after gzip (the platform's CompressionStream, in Node and
 * browsers alike): what a download costs, and what unstructured sparsity buys (zeros compress).
 *
 * @example
 * ```ts
 * const before = await compressedSize(model);
 * ```
 */
export async function compressedSize(model: Model | Uint8Array): Promise<number> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip'));
  return (await new Response(stream).arrayBuffer()).byteLength;
}
