/**
 * Element types: one table, keyed by the names users write (`'float32'`), carrying the
 * ONNX `TensorProto.DataType` code, the bit width, and the typed array that holds it.
 *
 * Sub-byte types (int4, uint4, float4e2m1, int2, uint2) are packed, low bits first, in a
 * Uint8Array, as ONNX stores them; float16/bfloat16 are their raw bits in a Uint16Array;
 * complex types are interleaved (re, im) pairs in a Float32Array/Float64Array.
 */
export type DType =
  | 'float32'
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'string'
  | 'bool'
  | 'float16'
  | 'float64'
  | 'uint32'
  | 'uint64'
  | 'complex64'
  | 'complex128'
  | 'bfloat16'
  | 'float8e4m3fn'
  | 'float8e4m3fnuz'
  | 'float8e5m2'
  | 'float8e5m2fnuz'
  | 'uint4'
  | 'int4'
  | 'float4e2m1'
  | 'float8e8m0'
  | 'uint2'
  | 'int2';

/** The typed array that holds each dtype's elements. */
export interface DTypeStorage {
  float32: Float32Array;
  uint8: Uint8Array;
  int8: Int8Array;
  uint16: Uint16Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  string: string[];
  bool: Uint8Array;
  float16: Uint16Array;
  float64: Float64Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  complex64: Float32Array;
  complex128: Float64Array;
  bfloat16: Uint16Array;
  float8e4m3fn: Uint8Array;
  float8e4m3fnuz: Uint8Array;
  float8e5m2: Uint8Array;
  float8e5m2fnuz: Uint8Array;
  uint4: Uint8Array;
  int4: Uint8Array;
  float4e2m1: Uint8Array;
  float8e8m0: Uint8Array;
  uint2: Uint8Array;
  int2: Uint8Array;
}

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Constructor of a dtype's storage array. */
export type TypedArrayCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray;
  new (length: number): TypedArray;
  BYTES_PER_ELEMENT: number;
};

export interface DTypeInfo {
  readonly name: DType;
  /** ONNX TensorProto.DataType code. */
  readonly onnx: number;
  /** Bits per element (complex: both parts). 0 for string. */
  readonly bits: number;
  /** Constructor of the storage array; undefined for string. */
  readonly array?: TypedArrayCtor;
  /** Storage array elements per tensor element (2 for complex, else 1; packed types: 1 byte per 8/bits elements). */
  readonly isFloat: boolean;
  readonly isInteger: boolean;
  readonly isSigned: boolean;
}

const T = (
  name: DType,
  onnx: number,
  bits: number,
  array: TypedArrayCtor | undefined,
  kind: 'f' | 'i' | 'u' | 'o',
): DTypeInfo => ({
  name,
  onnx,
  bits,
  array,
  isFloat: kind === 'f',
  isInteger: kind === 'i' || kind === 'u',
  isSigned: kind === 'f' || kind === 'i',
});

const TABLE: readonly DTypeInfo[] = [
  T('float32', 1, 32, Float32Array, 'f'),
  T('uint8', 2, 8, Uint8Array, 'u'),
  T('int8', 3, 8, Int8Array, 'i'),
  T('uint16', 4, 16, Uint16Array, 'u'),
  T('int16', 5, 16, Int16Array, 'i'),
  T('int32', 6, 32, Int32Array, 'i'),
  T('int64', 7, 64, BigInt64Array, 'i'),
  T('string', 8, 0, undefined, 'o'),
  T('bool', 9, 8, Uint8Array, 'o'),
  T('float16', 10, 16, Uint16Array, 'f'),
  T('float64', 11, 64, Float64Array, 'f'),
  T('uint32', 12, 32, Uint32Array, 'u'),
  T('uint64', 13, 64, BigUint64Array, 'u'),
  T('complex64', 14, 64, Float32Array, 'o'),
  T('complex128', 15, 128, Float64Array, 'o'),
  T('bfloat16', 16, 16, Uint16Array, 'f'),
  T('float8e4m3fn', 17, 8, Uint8Array, 'f'),
  T('float8e4m3fnuz', 18, 8, Uint8Array, 'f'),
  T('float8e5m2', 19, 8, Uint8Array, 'f'),
  T('float8e5m2fnuz', 20, 8, Uint8Array, 'f'),
  T('uint4', 21, 4, Uint8Array, 'u'),
  T('int4', 22, 4, Uint8Array, 'i'),
  T('float4e2m1', 23, 4, Uint8Array, 'f'),
  T('float8e8m0', 24, 8, Uint8Array, 'f'),
  T('uint2', 25, 2, Uint8Array, 'u'),
  T('int2', 26, 2, Uint8Array, 'i'),
];

const BY_NAME = new Map<string, DTypeInfo>(TABLE.map((t) => [t.name, t]));
const BY_ONNX = new Map<number, DTypeInfo>(TABLE.map((t) => [t.onnx, t]));

/** Every dtype, in ONNX code order. */
export const ALL_DTYPES: readonly DType[] = TABLE.map((t) => t.name);

/** Facts about a dtype. Throws on an unknown name. */
export function dtypeInfo(dtype: DType): DTypeInfo {
  const info = BY_NAME.get(dtype);
  if (!info) throw new TypeError(`unknown dtype '${dtype}'; expected one of ${ALL_DTYPES.join(', ')}`);
  return info;
}

/** The dtype of an ONNX TensorProto.DataType code, or undefined (0 = UNDEFINED, or a newer code). */
export function dtypeFromOnnx(code: number): DType | undefined {
  return BY_ONNX.get(code)?.name;
}

/** The ONNX TensorProto.DataType code of a dtype. */
export function dtypeToOnnx(dtype: DType): number {
  return dtypeInfo(dtype).onnx;
}

export function isDType(name: string): name is DType {
  return BY_NAME.has(name);
}

/** Bytes needed to store `count` elements (packed types round up). 0 for string. */
export function byteLengthOf(dtype: DType, count: number): number {
  const { bits } = dtypeInfo(dtype);
  return Math.ceil((count * bits) / 8);
}

/** Elements of the storage array for `count` tensor elements. */
export function storageLengthOf(dtype: DType, count: number): number {
  const info = dtypeInfo(dtype);
  if (!info.array) return count;
  return byteLengthOf(dtype, count) / info.array.BYTES_PER_ELEMENT;
}
