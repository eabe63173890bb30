import { InvalidArgumentError } from '../errors.js';
import { float16BitsToFloat32, bfloat16BitsToFloat32 } from './float16.js';
import { float8ToFloat32 } from './float8.js';
import { type DType, type DTypeStorage, type TypedArray, dtypeInfo, byteLengthOf, storageLengthOf } from './dtype.js';

/** Where a tensor's external bytes live, as ONNX `external_data` says. */
export interface ExternalDataInfo {
  /** Path relative to the model's folder, as written in the model. */
  location: string;
  offset: number;
  /** Byte length, or undefined for "to the end of the file". */
  length?: number;
  checksum?: string;
  /** Loads the bytes on first use; absent for tensors built in code. */
  load?: () => Uint8Array;
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/** Number of elements of a shape (1 for a scalar). */
export function shapeSize(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

function validateDims(dims: readonly number[]): void {
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new InvalidArgumentError(`tensor dims must be non-negative integers, got [${dims.join(', ')}]`, 'dims');
  }
}

type Source =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'array'; array: TypedArray }
  | { kind: 'strings'; strings: Uint8Array[] }
  | { kind: 'external'; info: ExternalDataInfo }
  | { kind: 'deferred'; load: (into?: Uint8Array) => Uint8Array };

/**
 * An n-dimensional array with an ONNX element type.
 *
 * Invariants: `dims` are non-negative integers; numeric data is little-endian; a tensor
 * decoded from a model keeps a zero-copy view of the model's bytes (or, for external data,
 * reads its file on first access) until its data is requested in another form. Treat
 * `data` and `bytes` as read-only: to change values, build a new Tensor.
 *
 * @example
 * ```ts
 * const t = Tensor.from('float32', [2, 2], [1, 2, 3, 4]);
 * t.data; // Float32Array [1, 2, 3, 4]
 * const ids = Tensor.from('int64', [2], [1n, 2n]);
 * ```
 */
export class Tensor<D extends DType = DType> {
  /** Optional proto fields present with default values in the source file (kept for lossless round trips). @internal */
  explicitDefaults?: Set<string>;
  readonly dtype: D;
  readonly dims: readonly number[];
  /** TensorProto.name, kept for fidelity; graph-level names live on Values. */
  name: string;
  docString: string;
  private _metadata?: Map<string, string>;
  /** Which TensorProto field carried the data when decoded; the encoder writes the same form back. */
  storedAs: 'raw' | 'typed';
  private source: Source;
  private cachedData?: DTypeStorage[D];

  private constructor(dtype: D, dims: readonly number[], source: Source, storedAs: 'raw' | 'typed') {
    this.dtype = dtype;
    // A plain copy, not frozen: frozen arrays are slow to read through N-API (runtimes read dims on every run).
    this.dims = dims.slice();
    this.source = source;
    this.storedAs = storedAs;
    this.name = '';
    this.docString = '';
  }

  /** TensorProto.metadata_props (IR v10); created on first use, since almost no tensor has any. */
  get metadata(): Map<string, string> {
    return (this._metadata ??= new Map());
  }

  /** True when metadata has entries (without creating the map). */
  get hasMetadata(): boolean {
    return !!this._metadata?.size;
  }

  /** Build from values: a typed array of the storage type (kept, not copied), or plain numbers / bigints / strings. */
  static from<D extends DType>(
    dtype: D,
    dims: readonly number[],
    values: DTypeStorage[D] | ArrayLike<number | bigint | boolean> | readonly string[],
  ): Tensor<D> {
    validateDims(dims);
    const info = dtypeInfo(dtype);
    const count = shapeSize(dims);
    if (dtype === 'string') {
      const strings = values as readonly string[];
      if (strings.length !== count)
        throw new InvalidArgumentError(
          `string tensor of shape [${dims}] needs ${count} values, got ${strings.length}`,
          'values',
        );
      return new Tensor(
        dtype,
        dims,
        { kind: 'strings', strings: Array.from(strings, (s) => textEncoder.encode(s)) },
        'typed',
      );
    }
    const want = storageLengthOf(dtype, count);
    const Ctor = info.array!;
    let array: TypedArray;
    if (values instanceof Ctor) array = values;
    else {
      array = new Ctor(want);
      const src = values as ArrayLike<number | bigint | boolean>;
      if (src.length !== want)
        throw new InvalidArgumentError(
          `${dtype} tensor of shape [${dims}] needs ${want} stored values, got ${src.length}`,
          'values',
        );
      const big = array instanceof BigInt64Array || array instanceof BigUint64Array;
      for (let i = 0; i < want; i++) {
        const v = src[i];
        (array as unknown as (number | bigint)[])[i] = big ? BigInt(v) : Number(v);
      }
    }
    if (array.length !== want)
      throw new InvalidArgumentError(
        `${dtype} tensor of shape [${dims}] needs ${want} stored values, got ${array.length}`,
        'values',
      );
    return new Tensor(dtype, dims, { kind: 'array', array }, 'raw');
  }

  /** Wrap little-endian bytes without copying. */
  static fromBytes<D extends DType>(
    dtype: D,
    dims: readonly number[],
    bytes: Uint8Array,
    storedAs: 'raw' | 'typed' = 'raw',
  ): Tensor<D> {
    validateDims(dims);
    if (dtype === 'string')
      throw new InvalidArgumentError('string tensors have no raw byte form; use Tensor.from', 'dtype');
    const need = byteLengthOf(dtype, shapeSize(dims));
    if (bytes.byteLength !== need)
      throw new InvalidArgumentError(
        `${dtype} tensor of shape [${dims}] needs ${need} bytes, got ${bytes.byteLength}`,
        'bytes',
      );
    return new Tensor(dtype, dims, { kind: 'bytes', bytes }, storedAs);
  }

  /** Build from ONNX string_data entries (raw UTF-8 bytes, kept as given). */
  static fromStringBytes(dims: readonly number[], strings: Uint8Array[]): Tensor<'string'> {
    validateDims(dims);
    if (strings.length !== shapeSize(dims))
      throw new InvalidArgumentError(
        `string tensor of shape [${dims}] needs ${shapeSize(dims)} values, got ${strings.length}`,
        'values',
      );
    return new Tensor('string', dims, { kind: 'strings', strings }, 'typed');
  }

  /** A tensor whose bytes live in an external file, read on first access. */
  static external<D extends DType>(dtype: D, dims: readonly number[], info: ExternalDataInfo): Tensor<D> {
    validateDims(dims);
    return new Tensor(dtype, dims, { kind: 'external', info }, 'raw');
  }

  /** A scalar. */
  static scalar<D extends DType>(dtype: D, value: number | bigint | boolean | string): Tensor<D> {
    return Tensor.from(dtype, [], [value] as never);
  }

  /** Number of elements. */
  get size(): number {
    return shapeSize(this.dims);
  }

  /** Bytes the data takes (0 for strings: they have no fixed width). */
  get byteLength(): number {
    return byteLengthOf(this.dtype, this.size);
  }

  /** The external-data location, if this tensor's bytes live outside the model file. */
  get externalData(): ExternalDataInfo | undefined {
    return this.source.kind === 'external' ? this.source.info : undefined;
  }

  /** True while the bytes have not been loaded from external data. */
  get isExternalAndUnloaded(): boolean {
    return this.source.kind === 'external';
  }

  /** Raw little-endian bytes: a view of the source when possible. */
  get bytes(): Uint8Array {
    const src = this.resolve();
    if (src.kind === 'bytes') return src.bytes;
    if (src.kind === 'array') return new Uint8Array(src.array.buffer, src.array.byteOffset, src.array.byteLength);
    throw new InvalidArgumentError('string tensors have no raw byte form', 'dtype');
  }

  /** Elements in the dtype's storage array (see {@link DTypeStorage}). A view when alignment allows. */
  get data(): DTypeStorage[D] {
    if (this.cachedData) return this.cachedData;
    const src = this.resolve();
    let out: unknown;
    if (src.kind === 'strings') out = src.strings.map((b) => textDecoder.decode(b));
    else if (src.kind === 'array') out = src.array;
    else {
      const Ctor = dtypeInfo(this.dtype).array!;
      const { bytes } = src;
      if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0)
        out = new Ctor(bytes.buffer, bytes.byteOffset, bytes.byteLength / Ctor.BYTES_PER_ELEMENT);
      else {
        // Unaligned inside the model buffer: one copy, then cached.
        const copy = new Uint8Array(bytes.byteLength);
        copy.set(bytes);
        out = new Ctor(copy.buffer, 0, bytes.byteLength / Ctor.BYTES_PER_ELEMENT);
      }
    }
    this.cachedData = out as DTypeStorage[D];
    return this.cachedData;
  }

  /** The UTF-8 bytes of each element of a string tensor. */
  get stringBytes(): Uint8Array[] {
    const src = this.resolve();
    if (src.kind !== 'strings')
      throw new InvalidArgumentError(`stringBytes is for string tensors, this one is ${this.dtype}`, 'dtype');
    return src.strings;
  }

  /** Elements as JS numbers (bigints narrowed, float16/bfloat16 decoded). Packed sub-byte types are unpacked. */
  toNumbers(): number[] {
    return Array.from(this.toFloat64(), (v) => v);
  }

  /** Elements widened to float64; the working form for constant folding and statistics. */
  toFloat64(): Float64Array {
    return toFloat64(this);
  }

  /** Forget the external-data location and hold the bytes in memory (used when saving without external data). */
  materialize(): this {
    if (this.source.kind === 'external') this.resolve();
    return this;
  }

  /**
   * A new Tensor object over the same data: nothing is copied or loaded. Its name, doc string
   * and metadata are its own. Sharing is safe because data is read-only (see the class docs);
   * `Model.clone()` shares every tensor this way.
   */
  share(): Tensor<D> {
    const t = new Tensor(this.dtype, this.dims, this.source, this.storedAs);
    t.cachedData = this.cachedData;
    t.name = this.name;
    t.docString = this.docString;
    if (this._metadata) t._metadata = new Map(this._metadata);
    if (this.explicitDefaults) t.explicitDefaults = new Set(this.explicitDefaults);
    return t;
  }

  /** A copy with other dims (same element count), sharing the bytes. */
  reshape(dims: readonly number[]): Tensor<D> {
    if (shapeSize(dims) !== this.size)
      throw new InvalidArgumentError(`cannot reshape [${this.dims}] (${this.size} elements) to [${dims}]`, 'dims');
    const t = new Tensor(this.dtype, dims, this.resolve(), this.storedAs);
    return t;
  }

  private resolve(): Exclude<Source, { kind: 'external' | 'deferred' }> {
    if (this.source.kind !== 'external' && this.source.kind !== 'deferred') return this.source;
    this.source = { kind: 'bytes', bytes: this.loadBytes() };
    return this.source;
  }

  /** The bytes of an external or deferred source, read now (deferred ones into `into` when given) and not kept. */
  private loadBytes(into?: ReadBuffer): Uint8Array {
    const source = this.source;
    if (source.kind === 'deferred') return source.load(into?.bytes(this.byteLength));
    if (source.kind !== 'external') throw new Error('loadBytes is for external and deferred sources');
    const { info } = source;
    if (!info.load)
      throw new InvalidArgumentError(
        `tensor '${this.name}' has external data at '${info.location}' but no loader; decode the model with loadModel(path) or pass externalData to decodeModel`,
        'externalData',
      );
    const bytes = info.load();
    const need = this.byteLength;
    if (bytes.byteLength !== need)
      throw new InvalidArgumentError(
        `external data for '${this.name}' at '${info.location}' has ${bytes.byteLength} bytes; shape [${this.dims}] of ${this.dtype} needs ${need}`,
        'externalData',
      );
    return bytes;
  }

  /**
   * Raw little-endian bytes, like {@link Tensor.bytes}, but bytes that live on disk (external or
   * deferred data) are read for this call and not kept: for writers that stream a model out
   * (sessions from files, saving) without pulling every weight into memory at once. With a
   * `buffer`, weights left in the model file are read into it, so that reading them one after
   * another leaves no garbage behind: the result is then valid until the buffer's next use.
   */
  readBytes(buffer?: ReadBuffer): Uint8Array {
    if ((this.source.kind === 'external' && this.source.info.load) || this.source.kind === 'deferred')
      return this.loadBytes(buffer);
    return this.bytes;
  }

  /**
   * The elements, like {@link Tensor.data}, read as {@link Tensor.readBytes} reads: bytes on disk
   * are not kept (and with a `buffer`, land in it). For passes that read each large weight once.
   */
  readData(buffer?: ReadBuffer): DTypeStorage[D] {
    if (
      this.cachedData ||
      this.dtype === 'string' ||
      (this.source.kind !== 'external' && this.source.kind !== 'deferred')
    )
      return this.data;
    const bytes = this.readBytes(buffer);
    const Ctor = dtypeInfo(this.dtype).array!;
    const aligned = bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0 ? bytes : bytes.slice();
    return new Ctor(aligned.buffer, aligned.byteOffset, aligned.byteLength / Ctor.BYTES_PER_ELEMENT) as DTypeStorage[D];
  }

  /**
   * Read the bytes from `load` when they are first needed, instead of from the source this
   * tensor has now (loadModel points weights it left in the model file here). `load` must
   * return exactly {@link Tensor.byteLength} bytes, in `into` when it is given. @internal
   */
  deferTo(load: (into?: Uint8Array) => Uint8Array): void {
    this.cachedData = undefined;
    this.source = { kind: 'deferred', load };
  }

  toString(): string {
    return `Tensor<${this.dtype}>[${this.dims.join(', ')}]`;
  }
}

function toFloat64(t: Tensor): Float64Array {
  const n = t.size;
  const out = new Float64Array(n);
  const dtype = t.dtype;
  if (dtype === 'string') throw new InvalidArgumentError('string tensors have no numeric value', 'dtype');
  if (dtype === 'complex64' || dtype === 'complex128')
    throw new InvalidArgumentError('complex tensors have no single numeric value per element', 'dtype');
  const data = t.data as TypedArray;
  const bits = dtypeInfo(dtype).bits;
  if (bits < 8) {
    const signed = dtype === 'int4' || dtype === 'int2';
    const perByte = 8 / bits;
    const mask = (1 << bits) - 1;
    for (let i = 0; i < n; i++) {
      const v = ((data as Uint8Array)[Math.floor(i / perByte)] >> ((i % perByte) * bits)) & mask;
      if (dtype === 'float4e2m1') out[i] = float4e2m1ToFloat32(v);
      else out[i] = signed && v >= 1 << (bits - 1) ? v - (1 << bits) : v;
    }
    return out;
  }
  if (dtype === 'float16') for (let i = 0; i < n; i++) out[i] = float16BitsToFloat32((data as Uint16Array)[i]);
  else if (dtype === 'bfloat16') for (let i = 0; i < n; i++) out[i] = bfloat16BitsToFloat32((data as Uint16Array)[i]);
  else if (dtype.startsWith('float8'))
    for (let i = 0; i < n; i++) out[i] = float8ToFloat32(dtype, (data as Uint8Array)[i]);
  else for (let i = 0; i < n; i++) out[i] = Number(data[i]);
  return out;
}

const FP4 = [0, 0.5, 1, 1.5, 2, 3, 4, 6];
function float4e2m1ToFloat32(v: number): number {
  return (v & 8 ? -1 : 1) * FP4[v & 7];
}

/**
 * A reusable byte buffer for reading large weights one at a time ({@link Tensor.readBytes},
 * {@link Tensor.readData}): each read lands in the same memory, so a pass over a large model
 * leaves no weight-sized garbage behind for the collector. It grows to the largest read.
 *
 * @example
 * ```ts
 * const buffer = new ReadBuffer();
 * for (const v of model.graph.initializers.values()) checksum(v.const!.readBytes(buffer));
 * ```
 */
export class ReadBuffer {
  private buffer = new Uint8Array(0);

  /** A view of `length` bytes of the buffer (its earlier contents are not kept). */
  bytes(length: number): Uint8Array {
    if (this.buffer.byteLength < length) this.buffer = new Uint8Array(length);
    return this.buffer.subarray(0, length);
  }
}
