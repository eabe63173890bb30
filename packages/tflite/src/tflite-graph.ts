/**
 * The TFLite model being written: tensors, constant buffers, operator codes and operators of
 * one subgraph, turned into the flatbuffer document of schema.ts at the end.
 */
import { type DType, type Tensor, UnsupportedOpError, toFloat16Array } from '@edgeml/core';
import { fbTable, floatVector, intVector, longVector, writeFlatbuffer, type FbTable } from './flatbuffer.js';
import {
  BufferTable,
  BuiltinOperator,
  BuiltinOptionsType,
  FILE_IDENTIFIER,
  ModelTable,
  OPTION_TABLES,
  OperatorCodeTable,
  OperatorTable,
  QuantizationParametersTable,
  SCHEMA_VERSION,
  SignatureDefTable,
  SubGraphTable,
  TensorMapTable,
  TensorTable,
  TensorType,
  type BuiltinOperatorName,
  type BuiltinOptionsName,
  type TensorTypeCode,
} from './schema.js';

/** A tensor of the subgraph; `shape` is its physical (TFLite) shape. */
export interface TfliteTensor {
  name: string;
  shape: number[];
  type: TensorTypeCode;
  /** Index into the model's buffers; 0 (the empty placeholder) for tensors computed at run time. */
  buffer: number;
  /** Affine quantization, `real = scale · (q − zeroPoint)`, per `dimension` when there are several scales. */
  quantization?: { scale: number[]; zeroPoint: number[]; dimension: number };
}

/** The ONNX node an operator was written for, and the values it reads and writes. */
export interface OperatorOrigin {
  opType: string;
  name: string;
  values: ReadonlySet<string>;
}

export interface TfliteOperator {
  op: BuiltinOperatorName;
  inputs: number[];
  outputs: number[];
  options?: { type: BuiltinOptionsName; values: Record<string, number | boolean | number[]> };
}

const TENSOR_TYPES: Partial<Record<DType, TensorTypeCode>> = {
  float32: TensorType.FLOAT32,
  float16: TensorType.FLOAT16,
  int32: TensorType.INT32,
  uint8: TensorType.UINT8,
  int64: TensorType.INT64,
  bool: TensorType.BOOL,
  int16: TensorType.INT16,
  int8: TensorType.INT8,
  float64: TensorType.FLOAT64,
  uint32: TensorType.UINT32,
  uint16: TensorType.UINT16,
  uint64: TensorType.UINT64,
};

/** The TFLite tensor type of an element type; undefined where TFLite has none. */
export function tensorTypeOf(dtype: DType): TensorTypeCode | undefined {
  return TENSOR_TYPES[dtype];
}

/** The TFLite tensor type of `dtype`, or an UnsupportedOpError naming the node that needs it. */
export function requireTensorType(dtype: DType, opType: string, nodeName: string): TensorTypeCode {
  const type = tensorTypeOf(dtype);
  if (type === undefined)
    throw new UnsupportedOpError(
      opType,
      '',
      undefined,
      `node '${nodeName}' (${opType}) has a ${dtype} tensor, which TFLite cannot hold`,
      nodeName,
    );
  return type;
}

/**
 * Operator versions other than 1 the writer must declare: TFLite registers BROADCAST_TO from
 * version 2 only (register.cc), so a version-1 code fails to resolve.
 */
const MIN_VERSIONS: Partial<Record<BuiltinOperatorName, number>> = { BROADCAST_TO: 2 };

/** What the subgraphs of one file share: its constant buffers and the list of subgraphs. */
interface TfliteFile {
  /** Buffer 0 is the empty placeholder every computed tensor points at. */
  readonly buffers: Uint8Array[];
  /** Subgraphs after the main one (IF branches), in file order from index 1. */
  readonly subgraphs: TfliteGraph[];
}

/**
 * One subgraph under construction. The main graph owns the file; {@link TfliteGraph.subgraph}
 * adds another (an IF branch) that shares its buffers and is written after it.
 */
export class TfliteGraph {
  readonly tensors: TfliteTensor[] = [];
  readonly operators: TfliteOperator[] = [];
  /** The ONNX node each operator was lowered from, for errors that name it (full-integer int8). */
  readonly origins = new WeakMap<TfliteOperator, OperatorOrigin>();
  /** A branch subgraph's inputs and outputs (tensor indices); the main graph's are given to toBytes. */
  readonly io = { inputs: [] as number[], outputs: [] as number[] };
  private readonly buffers: Uint8Array[];
  private readonly names = new Set<string>();

  constructor(
    private readonly file: TfliteFile = { buffers: [new Uint8Array(0)], subgraphs: [] },
    /** The subgraph's name in the file. */
    readonly name = 'main',
  ) {
    this.buffers = file.buffers;
  }

  /** A new subgraph of the same file and its index there (1 for the first: 0 is the main graph). */
  subgraph(name: string): { graph: TfliteGraph; index: number } {
    const graph = new TfliteGraph(this.file, name);
    this.file.subgraphs.push(graph);
    return { graph, index: this.file.subgraphs.length };
  }

  /** The branch subgraphs of the file, in index order from 1. */
  get subgraphs(): readonly TfliteGraph[] {
    return this.file.subgraphs;
  }

  /** A tensor computed at run time; its name is made unique. */
  addTensor(name: string, shape: readonly number[], type: TensorTypeCode): number {
    this.tensors.push({ name: this.uniqueName(name), shape: [...shape], type, buffer: 0 });
    return this.tensors.length - 1;
  }

  /** A constant tensor holding `tensor`'s bytes (little-endian, row-major in `tensor.dims`). */
  addConstant(name: string, tensor: Tensor, type?: TensorTypeCode): number {
    const code = type ?? requireTensorType(tensor.dtype, 'Constant', name);
    this.buffers.push(tensor.bytes);
    this.tensors.push({
      name: this.uniqueName(name),
      shape: [...tensor.dims],
      type: code,
      buffer: this.buffers.length - 1,
    });
    return this.tensors.length - 1;
  }

  /** A constant tensor of `type` holding `bytes` as they are (little-endian, row-major in `shape`). */
  addConstantBytes(name: string, shape: readonly number[], bytes: Uint8Array, type: TensorTypeCode): number {
    this.buffers.push(bytes);
    this.tensors.push({ name: this.uniqueName(name), shape: [...shape], type, buffer: this.buffers.length - 1 });
    return this.tensors.length - 1;
  }

  /** An int32 constant, for shapes, axes, permutations and paddings. */
  addInt32(name: string, dims: readonly number[], values: readonly number[]): number {
    const data = Int32Array.from(values);
    this.buffers.push(new Uint8Array(data.buffer));
    this.tensors.push({
      name: this.uniqueName(name),
      shape: [...dims],
      type: TensorType.INT32,
      buffer: this.buffers.length - 1,
    });
    return this.tensors.length - 1;
  }

  addOperator(operator: TfliteOperator): void {
    this.operators.push(operator);
  }

  /** Constant tensors are those with a buffer of their own. */
  isConstant(index: number): boolean {
    return this.tensors[index].buffer !== 0;
  }

  /** Give the constant tensor `index` new bytes, type and quantization (its buffer is its own). */
  replaceConstant(
    index: number,
    bytes: Uint8Array,
    type: TensorTypeCode,
    quantization?: TfliteTensor['quantization'],
  ): void {
    const t = this.tensors[index];
    this.buffers[t.buffer] = bytes;
    t.type = type;
    t.quantization = quantization;
  }

  /** Bytes of the constant tensor `index`. */
  constantBytes(index: number): Uint8Array {
    return this.buffers[this.tensors[index].buffer];
  }

  /** Give tensor `index` the name `name`, and the tensor that had it (if any) `index`'s old name. */
  swapName(index: number, name: string): void {
    const holder = this.tensors.find((t) => t.name === name);
    if (holder) holder.name = this.tensors[index].name;
    else this.names.add(name);
    this.tensors[index].name = name;
  }

  /**
   * TFLite's float16 quantization: every float32 constant read by an operator is stored as
   * float16 and widened back by a DEQUANTIZE at the start of the graph (which XNNPACK and GPU
   * delegates fold into the weights). Returns how many constants were converted.
   */
  storeWeightsAsFloat16(): number {
    const read = new Set(this.operators.flatMap((op) => op.inputs));
    const widen: TfliteOperator[] = [];
    for (const index of read) {
      const t = this.tensors[index];
      if (index < 0 || t.buffer === 0 || t.type !== TensorType.FLOAT32) continue;
      const bytes = this.buffers[t.buffer];
      // A copy when unaligned (Buffer#slice would be a view of the same unaligned memory).
      const aligned = bytes.byteOffset % 4 === 0 ? bytes : Uint8Array.from(bytes);
      const half = toFloat16Array(new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4));
      this.buffers[t.buffer] = new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
      this.tensors.push({
        name: this.uniqueName(`${t.name}/fp16`),
        shape: [...t.shape],
        type: TensorType.FLOAT16,
        buffer: t.buffer,
      });
      t.buffer = 0;
      widen.push({ op: 'DEQUANTIZE', inputs: [this.tensors.length - 1], outputs: [index] });
    }
    this.operators.unshift(...widen);
    return widen.length;
  }

  private uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /**
   * The .tflite bytes: one subgraph with `inputs` and `outputs`, and a "serving_default"
   * signature naming them by `signatureNames` (the ONNX model's names), as TFLiteConverter writes.
   */
  toBytes(
    inputs: readonly number[],
    outputs: readonly number[],
    options: { name: string; description: string; signatureNames: { inputs: string[]; outputs: string[] } },
  ): Uint8Array {
    const graphs = [this, ...this.file.subgraphs];
    const codes = new Map<BuiltinOperatorName, number>();
    for (const graph of graphs) for (const op of graph.operators) if (!codes.has(op.op)) codes.set(op.op, codes.size);
    const operatorCodes = [...codes.keys()].map((op) => {
      const code = BuiltinOperator[op];
      return fbTable(OperatorCodeTable, {
        deprecated_builtin_code: Math.min(code, BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES),
        version: MIN_VERSIONS[op] ?? 1,
        builtin_code: code,
      });
    });
    const tensorMap = (names: string[], indices: readonly number[]) =>
      indices.map((tensor_index, i) => fbTable(TensorMapTable, { name: names[i], tensor_index }));
    const signature = fbTable(SignatureDefTable, {
      inputs: tensorMap(options.signatureNames.inputs, inputs),
      outputs: tensorMap(options.signatureNames.outputs, outputs),
      signature_key: 'serving_default',
      subgraph_index: 0,
    });
    const subgraphs = graphs.map((graph, i) =>
      graph.subgraphTable(codes, i === 0 ? { inputs, outputs, name: options.name } : { ...graph.io, name: graph.name }),
    );
    const buffers = this.buffers.map((bytes, i) =>
      i === 0 ? fbTable(BufferTable, {}) : fbTable(BufferTable, { data: { bytes, align: 16 } }),
    );
    const model = fbTable(ModelTable, {
      version: SCHEMA_VERSION,
      operator_codes: operatorCodes,
      subgraphs,
      description: options.description,
      buffers,
      signature_defs: [signature],
    });
    const weightBytes = this.buffers.reduce((n, b) => n + b.length + 16, 0);
    const operatorCount = graphs.reduce((n, g) => n + g.operators.length, 0);
    return writeFlatbuffer(model, FILE_IDENTIFIER, Math.max(1 << 16, weightBytes + 4096 * operatorCount));
  }

  /** This subgraph's table, operators pointing at `codes`. */
  private subgraphTable(
    codes: ReadonlyMap<BuiltinOperatorName, number>,
    io: { inputs: readonly number[]; outputs: readonly number[]; name: string },
  ): FbTable {
    const operators = this.operators.map((op) => {
      const values: Record<string, FbTable['values'][string]> = {
        opcode_index: codes.get(op.op)!,
        inputs: intVector(op.inputs),
        outputs: intVector(op.outputs),
      };
      if (op.options) {
        values.builtin_options_type = BuiltinOptionsType[op.options.type];
        values.builtin_options = optionsTable(op.options.type, op.options.values);
      }
      return fbTable(OperatorTable, values);
    });
    const tensors = this.tensors.map((t) =>
      fbTable(TensorTable, {
        shape: intVector(t.shape),
        type: t.type,
        buffer: t.buffer,
        name: t.name,
        quantization: t.quantization && quantizationTable(t.quantization),
        has_rank: true,
      }),
    );
    return fbTable(SubGraphTable, {
      tensors,
      inputs: intVector(io.inputs),
      outputs: intVector(io.outputs),
      operators,
      name: io.name,
    });
  }
}

function quantizationTable(q: NonNullable<TfliteTensor['quantization']>): FbTable {
  return fbTable(QuantizationParametersTable, {
    scale: floatVector(q.scale),
    zero_point: longVector(q.zeroPoint),
    quantized_dimension: q.dimension,
  });
}

function optionsTable(type: BuiltinOptionsName, values: Record<string, number | boolean | number[]>): FbTable {
  const fields: FbTable['values'] = Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, Array.isArray(v) ? intVector(v) : v]),
  );
  return fbTable(OPTION_TABLES[type], fields);
}
