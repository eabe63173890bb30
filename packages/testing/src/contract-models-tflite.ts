/**
 * The contract models as .tflite files, for backends that run TFLite: the same graphs and exact
 * answers as the ONNX ones in contract-models.ts (sum = a + b, product = a · b; y = x for one
 * element type), written with the `flatbuffers` builder from the tables and fields of TFLite's
 * schema (tensorflow/compiler/mlir/lite/schema/schema.fbs) that these graphs need. TFLite cannot
 * resize inputs through every API, so the batch dimension is fixed at 2.
 */
import * as flatbuffers from 'flatbuffers';
import { InvalidArgumentError, ModelFormatError, type DType } from '@edgeml/core';
import type { ContractModels } from './contract-models.js';
import { TFLITE_TENSOR_TYPES } from '@edgeml/runtime-tflite';

/** `TensorType` codes of schema.fbs by dtype (the backend's table, read the other way). */
const TENSOR_TYPE: Partial<Record<DType, number>> = Object.fromEntries(
  Object.entries(TFLITE_TENSOR_TYPES).map(([code, dtype]) => [dtype, Number(code)]),
);

/** `BuiltinOperator` codes of schema.fbs. */
const ADD = 0;
const MUL = 18;
const RESHAPE = 22;

interface TensorSpec {
  name: string;
  dtype: DType;
  shape: number[];
  /** Constant data (little-endian bytes), stored in a buffer of its own. */
  data?: Uint8Array;
}

interface GraphSpec {
  tensors: TensorSpec[];
  inputs: number[];
  outputs: number[];
  operators: { builtin: number; inputs: number[]; outputs: number[] }[];
}

function intVector(b: flatbuffers.Builder, values: readonly number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]);
  return b.endVector();
}

function tableVector(b: flatbuffers.Builder, offsets: readonly number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

/** Buffer 0 is the empty one every tensor without data points to; constants get one each. */
function buffers(b: flatbuffers.Builder, tensors: readonly TensorSpec[]): { table: number[]; index: number[] } {
  const table: number[] = [];
  b.startObject(1);
  table.push(b.endObject());
  const index = tensors.map((t) => {
    if (!t.data) return 0;
    b.startVector(1, t.data.byteLength, 16);
    for (let i = t.data.byteLength - 1; i >= 0; i--) b.addInt8(t.data[i]);
    const data = b.endVector();
    b.startObject(1);
    b.addFieldOffset(0, data, 0);
    table.push(b.endObject());
    return table.length - 1;
  });
  return { table, index };
}

function writeModel(spec: GraphSpec, description: string): Uint8Array {
  const b = new flatbuffers.Builder(1024);
  const codes = [...new Set(spec.operators.map((o) => o.builtin))];
  const { table: bufferTables, index: bufferOf } = buffers(b, spec.tensors);
  const tensors = spec.tensors.map((t, i) => {
    const type = TENSOR_TYPE[t.dtype];
    if (type === undefined) throw new InvalidArgumentError(`TFLite has no tensor type for ${t.dtype}`, 'dtype');
    const name = b.createString(t.name);
    const shape = intVector(b, t.shape);
    b.startObject(8);
    b.addFieldOffset(0, shape, 0);
    b.addFieldInt8(1, type, 0);
    b.addFieldInt32(2, bufferOf[i], 0);
    b.addFieldOffset(3, name, 0);
    return b.endObject();
  });
  const operators = spec.operators.map((o) => {
    const inputs = intVector(b, o.inputs);
    const outputs = intVector(b, o.outputs);
    b.startObject(3);
    b.addFieldInt32(0, codes.indexOf(o.builtin), 0);
    b.addFieldOffset(1, inputs, 0);
    b.addFieldOffset(2, outputs, 0);
    return b.endObject();
  });
  const [tensorList, inputList, outputList, operatorList] = [
    tableVector(b, tensors),
    intVector(b, spec.inputs),
    intVector(b, spec.outputs),
    tableVector(b, operators),
  ];
  const subgraphName = b.createString('main');
  b.startObject(5);
  b.addFieldOffset(0, tensorList, 0);
  b.addFieldOffset(1, inputList, 0);
  b.addFieldOffset(2, outputList, 0);
  b.addFieldOffset(3, operatorList, 0);
  b.addFieldOffset(4, subgraphName, 0);
  const subgraph = b.endObject();
  const operatorCodes = codes.map((code) => {
    b.startObject(4);
    b.addFieldInt8(0, code, 0); // deprecated_builtin_code: the same code, for readers older than builtin_code
    b.addFieldInt32(2, 1, 1);
    b.addFieldInt32(3, code, 0);
    return b.endObject();
  });
  const [codeList, subgraphList, bufferList] = [
    tableVector(b, operatorCodes),
    tableVector(b, [subgraph]),
    tableVector(b, bufferTables),
  ];
  const text = b.createString(description);
  b.startObject(5);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(1, codeList, 0);
  b.addFieldOffset(2, subgraphList, 0);
  b.addFieldOffset(3, text, 0);
  b.addFieldOffset(4, bufferList, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}

/** sum = a + b and product = a * b over [2, 3] float32, as a .tflite file (ADD and MUL). */
export function addMulTflite(): Uint8Array {
  const f32 = (name: string): TensorSpec => ({ name, dtype: 'float32', shape: [2, 3] });
  return writeModel(
    {
      tensors: [f32('a'), f32('b'), f32('sum'), f32('product')],
      inputs: [0, 1],
      outputs: [2, 3],
      operators: [
        { builtin: ADD, inputs: [0, 1], outputs: [2] },
        { builtin: MUL, inputs: [0, 1], outputs: [3] },
      ],
    },
    'EdgeML conformance: add_mul',
  );
}

/** y = x over [2, 3] for one element type, as a .tflite file (RESHAPE to the same shape copies the bytes). */
export function identityTflite(dtype: DType): Uint8Array {
  const shape = new Uint8Array(Int32Array.from([2, 3]).buffer);
  return writeModel(
    {
      tensors: [
        { name: 'x', dtype, shape: [2, 3] },
        { name: 'shape', dtype: 'int32', shape: [2], data: shape },
        { name: 'y', dtype, shape: [2, 3] },
      ],
      inputs: [0],
      outputs: [2],
      operators: [{ builtin: RESHAPE, inputs: [0, 1], outputs: [2] }],
    },
    `EdgeML conformance: identity_${dtype}`,
  );
}

/** TFLite: the contract models as .tflite files; a file that is not a .tflite flatbuffer is a ModelFormatError. */
export const TFLITE_CONTRACT_MODELS: ContractModels = {
  format: 'tflite',
  extension: '.tflite',
  addMul: addMulTflite,
  identity: identityTflite,
  addMulInputShape: [2, 3],
  takesIrModel: false,
  invalidBytesError: ModelFormatError,
};
