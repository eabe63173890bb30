import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, Model, decodeModel, encodeModel } from '@edgeml/core';
import { modelTensors } from '@edgeml/core/node';

/** A model to benchmark: a file path, ONNX bytes, or an IR Model. */
export type ModelSource = string | Uint8Array | Model;

/** How a source is named in results: the path as given, or a generic label. */
export function sourceLabel(source: ModelSource): string {
  return typeof source === 'string'
    ? source
    : source instanceof Model
      ? `model (${source.graph.name || 'in memory'})`
      : 'model bytes';
}

/**
 * True for a TFLite flatbuffer (file identifier "TFL3" at bytes 4..8): a single self-contained
 * file, never ONNX protobuf, so it is neither decoded nor searched for external data.
 */
const isTflite = (bytes: Uint8Array) =>
  bytes.byteLength >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === 'TFL3';

/**
 * Bytes a deployment ships: the .onnx file plus every external-data file it references,
 * each counted once; a .tflite file is its own size. An in-memory Model counts as its encoded size.
 */
export function modelSizeBytes(source: ModelSource): number {
  if (source instanceof Uint8Array) return source.byteLength;
  if (source instanceof Model) return encodeModel(source, { placeTensor: () => 'inline' }).byteLength;
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(source);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(
      `cannot read model file '${source}': ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      'model',
    );
  }
  if (isTflite(bytes)) return bytes.byteLength;
  const locations = new Set<string>();
  for (const t of modelTensors(decodeModel(bytes, { file: source }))) {
    if (t.externalData) locations.add(t.externalData.location);
  }
  let total = bytes.byteLength;
  for (const loc of locations) total += fs.statSync(path.join(path.dirname(source), loc)).size;
  return total;
}
