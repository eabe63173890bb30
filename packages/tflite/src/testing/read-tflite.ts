/**
 * A test-only reading of a .tflite with google/flatbuffers' generic ByteBuffer, by vtable slot
 * numbers taken from schema.fbs directly (not from the writer's tables), so that the tests see
 * the file as a reader does.
 */
import { ByteBuffer } from 'flatbuffers';

export interface ReadTensor {
  name: string;
  shape: number[];
  type: number;
  buffer: number;
  quantization?: { scale: number[]; zeroPoint: number[]; dimension: number };
}

export interface ReadTflite {
  identifier: string;
  version: number;
  operatorCodes: { deprecatedBuiltinCode: number; builtinCode: number; version: number }[];
  operators: {
    opcodeIndex: number;
    inputs: number[];
    outputs: number[];
    optionsType: number;
    customOptions: boolean;
  }[];
  tensors: ReadTensor[];
  inputs: number[];
  outputs: number[];
  bufferSizes: number[];
  signatureInputs: string[];
  signatureOutputs: string[];
  /** Subgraphs in the file (the fields above are the main one's). */
  subgraphCount: number;
}

export function readTflite(bytes: Uint8Array): ReadTflite {
  const bb = new ByteBuffer(bytes);
  const slot = (table: number, n: number) => bb.__offset(table, 4 + 2 * n);
  const int = (table: number, n: number, fallback = 0) =>
    slot(table, n) ? bb.readInt32(table + slot(table, n)) : fallback;
  const byte = (table: number, n: number, fallback = 0) =>
    slot(table, n) ? bb.readInt8(table + slot(table, n)) : fallback;
  const str = (table: number, n: number) => (slot(table, n) ? (bb.__string(table + slot(table, n)) as string) : '');
  /** The vector in field `n` of `table`, each element read at its address by `read` (`size` bytes apart). */
  const vector = <T>(table: number, n: number, size: number, read: (at: number) => T): T[] => {
    const o = slot(table, n);
    if (!o) return [];
    const start = bb.__vector(table + o);
    return Array.from({ length: bb.__vector_len(table + o) }, (_, i) => read(start + size * i));
  };
  const tables = (table: number, n: number) => vector(table, n, 4, (at) => bb.__indirect(at));
  const ints = (table: number, n: number) => vector(table, n, 4, (at) => bb.readInt32(at));
  const floats = (table: number, n: number) => vector(table, n, 4, (at) => bb.readFloat32(at));
  const longs = (table: number, n: number) => vector(table, n, 8, (at) => Number(bb.readInt64(at)));
  const model = bb.readInt32(bb.position()) + bb.position();
  const subgraph = tables(model, 2)[0];
  const signature = tables(model, 7)[0];
  const names = (n: number) => (signature === undefined ? [] : tables(signature, n).map((t) => str(t, 0)));
  return {
    identifier: bb.getBufferIdentifier(),
    version: int(model, 0),
    operatorCodes: tables(model, 1).map((t) => ({
      deprecatedBuiltinCode: byte(t, 0),
      builtinCode: int(t, 3),
      version: int(t, 2, 1),
    })),
    operators: tables(subgraph, 3).map((t) => ({
      opcodeIndex: int(t, 0),
      inputs: ints(t, 1),
      outputs: ints(t, 2),
      optionsType: slot(t, 3) ? bb.readUint8(t + slot(t, 3)) : 0,
      customOptions: slot(t, 5) !== 0,
    })),
    tensors: tables(subgraph, 0).map((t) => {
      const tensor: ReadTensor = { shape: ints(t, 0), type: byte(t, 1), buffer: int(t, 2), name: str(t, 3) };
      const q = slot(t, 4) ? bb.__indirect(t + slot(t, 4)) : undefined;
      if (q !== undefined) tensor.quantization = { scale: floats(q, 2), zeroPoint: longs(q, 3), dimension: int(q, 6) };
      return tensor;
    }),
    inputs: ints(subgraph, 1),
    outputs: ints(subgraph, 2),
    bufferSizes: tables(model, 4).map((t) => (slot(t, 0) ? bb.__vector_len(t + slot(t, 0)) : 0)),
    signatureInputs: names(0),
    signatureOutputs: names(1),
    subgraphCount: tables(model, 2).length,
  };
}

/** Builtin operator names by code, from schema.fbs (the codes the tests look for). */
export const OP_NAMES: Record<number, string> = {
  0: 'ADD',
  3: 'CONV_2D',
  4: 'DEPTHWISE_CONV_2D',
  9: 'FULLY_CONNECTED',
  17: 'MAX_POOL_2D',
  18: 'MUL',
  75: 'SQRT',
  55: 'MAXIMUM',
  22: 'RESHAPE',
  34: 'PAD',
  39: 'TRANSPOSE',
  40: 'MEAN',
  6: 'DEQUANTIZE',
  2: 'CONCATENATION',
  49: 'SPLIT',
  19: 'RELU',
  25: 'SOFTMAX',
  114: 'QUANTIZE',
  117: 'HARD_SWISH',
};

/** The file's operators by name, in order. */
export const opSequence = (file: ReadTflite): string[] =>
  file.operators.map((op) => {
    const code = file.operatorCodes[op.opcodeIndex].builtinCode;
    return OP_NAMES[code] ?? `#${code}`;
  });
