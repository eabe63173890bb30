import type { DType } from '@edgeml/core';
import { FlatBufferReader } from './flatbuffer-reader.js';

/**
 * `TensorType` of TFLite's schema (tensorflow/compiler/mlir/lite/schema/schema.fbs), by code,
 * as EdgeML dtypes; codes EdgeML has no dtype for (RESOURCE, VARIANT) are absent.
 */
export const TFLITE_TENSOR_TYPES: Readonly<Record<number, DType>> = {
  0: 'float32',
  1: 'float16',
  2: 'int32',
  3: 'uint8',
  4: 'int64',
  5: 'string',
  6: 'bool',
  7: 'int16',
  8: 'complex64',
  9: 'int8',
  10: 'float64',
  11: 'complex128',
  12: 'uint64',
  15: 'uint32',
  16: 'uint16',
  17: 'int4',
  18: 'bfloat16',
};

/**
 * Affine quantization of an integer tensor: `real = scale · (quantized − zeroPoint)`. One
 * entry per tensor, or one per slice along `axis` (per-channel quantization).
 */
export interface TfliteQuantization {
  scale: readonly number[];
  zeroPoint: readonly number[];
  /** The dimension per-channel parameters run along (0 for per-tensor parameters). */
  axis: number;
}

/** A graph input or output as the .tflite file declares it. */
export interface TfliteTensorHeader {
  /** Position in the subgraph's tensor list (what TFLite calls the tensor id). */
  index: number;
  name: string;
  /** The element type, or undefined for types EdgeML cannot represent (with the schema's code in `typeCode`). */
  dtype: DType | undefined;
  typeCode: number;
  /** Static shape the interpreter allocates. */
  shape: readonly number[];
  /** Shape with -1 where the converter left a dimension dynamic (TFLite's `shape_signature`), when recorded. */
  shapeSignature?: readonly number[];
  quantization?: TfliteQuantization;
}

/** What the backend reads from a .tflite file before the interpreter loads it. */
export interface TfliteHeader {
  /** Schema version (3 for every current file). */
  version: number;
  description?: string;
  subgraphCount: number;
  inputs: TfliteTensorHeader[];
  outputs: TfliteTensorHeader[];
}

/** TFLite's file identifier, at bytes 4..8 of every .tflite file. */
export const TFLITE_FILE_IDENTIFIER = 'TFL3';

/** True when the bytes carry the .tflite file identifier (a cheap check, not a validation). */
export function hasTfliteIdentifier(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === TFLITE_FILE_IDENTIFIER;
}

function readQuantization(r: FlatBufferReader, tensor: number, field: string): TfliteQuantization | undefined {
  const pos = r.field(tensor, 4, field);
  if (pos === undefined) return undefined;
  const q = r.table(pos, field);
  const scale = r.floats(q, 2, `${field}.scale`);
  const zeroPoint = r.longs(q, 3, `${field}.zero_point`);
  if (!scale?.length) return undefined;
  return { scale, zeroPoint: zeroPoint?.length ? zeroPoint : scale.map(() => 0), axis: r.scalarI32(q, 6, field, 0) };
}

function readTensor(r: FlatBufferReader, tensors: number[], index: number, field: string): TfliteTensorHeader {
  if (!(index >= 0 && index < tensors.length))
    r.fail(`tensor index ${index} is out of range (${tensors.length} tensors)`, field, 0);
  const t = tensors[index];
  const at = `${field} (tensor ${index})`;
  const typeCode = r.scalarI8(t, 1, `${at}.type`, 0);
  const signature = r.ints(t, 7, `${at}.shape_signature`);
  return {
    index,
    name: r.string(t, 3, `${at}.name`) ?? `tensor_${index}`,
    dtype: TFLITE_TENSOR_TYPES[typeCode],
    typeCode,
    shape: r.ints(t, 0, `${at}.shape`) ?? [],
    ...(signature?.length ? { shapeSignature: signature } : {}),
    ...(() => {
      const quantization = readQuantization(r, t, `${at}.quantization`);
      return quantization ? { quantization } : {};
    })(),
  };
}

/**
 * Check the file identifier and read the first subgraph's inputs and outputs, with their
 * quantization parameters (which TFLite's web API does not report). `source` names the file
 * in errors.
 *
 * @example
 * ```ts
 * const header = readTfliteHeader(fs.readFileSync('model.tflite'), 'model.tflite');
 * console.log(header.inputs[0].quantization); // { scale: [0.0078125], zeroPoint: [-128], axis: 0 }
 * ```
 */
export function readTfliteHeader(bytes: Uint8Array, source: string): TfliteHeader {
  const r = new FlatBufferReader(bytes, source);
  if (bytes.byteLength < 8) r.fail(`${bytes.byteLength} bytes is too short for a flatbuffer`, 'root', 0);
  if (!hasTfliteIdentifier(bytes)) {
    const found = JSON.stringify(String.fromCharCode(...bytes.subarray(4, 8)));
    r.fail(
      `file identifier "${TFLITE_FILE_IDENTIFIER}" missing at bytes 4..8 (found ${found}); is this a .tflite file? (ONNX models run on the onnxruntime backends)`,
      'file_identifier',
      4,
    );
  }
  const model = r.root();
  const subgraphs = r.tables(model, 2, 'Model.subgraphs');
  if (subgraphs.length === 0) r.fail('the model has no subgraph', 'Model.subgraphs', model);
  const main = subgraphs[0];
  const tensors = r.tables(main, 0, 'SubGraph.tensors');
  const io = (index: number, name: string) =>
    (r.ints(main, index, `SubGraph.${name}`) ?? []).map((t, i) => readTensor(r, tensors, t, `SubGraph.${name}[${i}]`));
  const description = r.string(model, 3, 'Model.description');
  return {
    version: r.scalarI32(model, 0, 'Model.version', 0),
    ...(description ? { description } : {}),
    subgraphCount: subgraphs.length,
    inputs: io(1, 'inputs'),
    outputs: io(2, 'outputs'),
  };
}
