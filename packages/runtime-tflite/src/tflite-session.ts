import {
  BackendError,
  InvalidArgumentError,
  Tensor,
  byteLengthOf,
  shapeSize,
  type DType,
  type RunOptions,
  type TensorType,
  type Session,
  type ValueInfo,
} from '@edgeml/core';
import type { TfliteHeader, TfliteQuantization, TfliteTensorHeader } from './tflite-header.js';
import type { InterpreterLog, TfliteWasmModule, WasmModelRunner, WasmTensorInfo } from './wasm-interpreter.js';

const NAME = 'tflite';

/** Element types whose tensors TFLite's web API (TFLiteWebModelRunnerTensorInfo.data) gives a view of. */
export const WEB_API_DTYPES: readonly DType[] = [
  'float32',
  'float64',
  'int8',
  'uint8',
  'int16',
  'int32',
  'uint32',
  'bool',
];

/**
 * A .tflite input or output: the contract's name and type, plus what TFLite adds. For integer
 * tensors of a quantized model `quantization` holds the scale and zero point that map them to
 * real values (`real = scale · (q − zeroPoint)`), so callers can quantize inputs and
 * dequantize outputs (see {@link quantizeTensor} and {@link dequantizeTensor}).
 */
export interface TfliteValueInfo extends ValueInfo {
  /** The tensor's index in the model's main subgraph. */
  tensorIndex: number;
  quantization?: TfliteQuantization;
  /** Dimensions the converter left dynamic (-1 in TFLite's shape signature); they run at the size in `type.shape`. */
  dynamicAxes?: readonly number[];
}

function valueInfo(header: TfliteTensorHeader, runtime: WasmTensorInfo | undefined): TfliteValueInfo {
  const shape = runtime ? runtime.shape.split(',').filter(Boolean).map(Number) : [...header.shape];
  const dynamicAxes = header.shapeSignature?.flatMap((d, axis) => (d < 0 ? [axis] : []));
  return {
    name: header.name,
    type: header.dtype ? { kind: 'tensor', dtype: header.dtype, shape } : undefined,
    tensorIndex: header.index,
    ...(header.quantization ? { quantization: header.quantization } : {}),
    ...(dynamicAxes?.length ? { dynamicAxes } : {}),
  };
}

/** The elements of an embind vector, which is freed (its elements are copies the caller owns and frees). */
function drain<T>(v: { size(): number; get(i: number): T; delete(): void }): T[] {
  const items = Array.from({ length: v.size() }, (_, i) => v.get(i));
  v.delete();
  return items;
}

/** A byte view of a tensor on the wasm heap (fetched again each time: a growing heap moves it). */
function heapBytes(info: WasmTensorInfo): Uint8Array {
  const view = info.data();
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * A session on one .tflite model: TFLite's interpreter (with its XNNPACK delegate) in wasm.
 * Feeds are checked by name, dtype and shape before they are copied into the interpreter's
 * input tensors; outputs are copied out, so they stay valid after the next run.
 */
export class TfliteSession implements Session {
  readonly inputs: readonly TfliteValueInfo[];
  readonly outputs: readonly TfliteValueInfo[];
  readonly executionProviders = ['wasm'] as const;
  private disposed = false;
  /** The interpreter's tensors, in the order of `inputs` and `outputs`: fetched once, since each fetch allocates. */
  private readonly runtimeInputs: WasmTensorInfo[];
  private readonly runtimeOutputs: WasmTensorInfo[];

  constructor(
    private readonly module: TfliteWasmModule,
    private readonly runner: WasmModelRunner,
    private readonly modelPointer: number,
    header: TfliteHeader,
    private readonly source: string,
    private readonly log: InterpreterLog,
  ) {
    const byId = new Map([...drain(runner.GetInputs()), ...drain(runner.GetOutputs())].map((t) => [t.id, t]));
    const runtime = (h: TfliteTensorHeader) => {
      const t = byId.get(h.index);
      if (!t)
        this.fail(
          `TFLite's interpreter does not list tensor ${h.index} ('${h.name}') among the model's inputs and outputs`,
        );
      return t;
    };
    this.runtimeInputs = header.inputs.map(runtime);
    this.runtimeOutputs = header.outputs.map(runtime);
    this.inputs = header.inputs.map((h, i) => valueInfo(h, this.runtimeInputs[i]));
    this.outputs = header.outputs.map((h, i) => valueInfo(h, this.runtimeOutputs[i]));
  }

  private fail(message: string, cause?: unknown): never {
    throw new BackendError(`${this.source}: ${message}`, { backend: NAME, cause });
  }

  /** The element type of an input or output, when it is one whose bytes cross the web API as they are. */
  private dtypeOf(info: TfliteValueInfo, role: 'input' | 'output'): DType {
    const type = info.type;
    const dtype = type?.kind === 'tensor' ? type.dtype : undefined;
    // TFLite packs strings in its own layout; the web API hands out raw bytes only.
    if (!dtype || dtype === 'string')
      this.fail(`${role} '${info.name}' is of a type (${dtype ?? 'unknown'}) TFLite's web API cannot carry`);
    return dtype;
  }

  private checkFeed(info: TfliteValueInfo, t: Tensor): void {
    const dtype = this.dtypeOf(info, 'input');
    if (t.dtype !== dtype)
      this.fail(`input '${info.name}' is ${dtype} in the model, got a ${t.dtype} tensor; convert it first`);
    const want = (info.type as TensorType).shape as number[];
    if (t.dims.length !== want.length || t.dims.some((d, i) => d !== want[i]))
      this.fail(
        `input '${info.name}' has shape [${want}], got [${t.dims}]` +
          (info.dynamicAxes
            ? ` (axes ${info.dynamicAxes} are dynamic in the model, but TFLite's web API cannot resize inputs: they run at the size above)`
            : ''),
      );
  }

  private bytesMismatch(role: 'input' | 'output', info: TfliteValueInfo, held: number, want: number): string {
    const dtype = (info.type as TensorType).dtype;
    // The web API hands out typed views only for the types it knows; for the others it shows no bytes at all.
    if (held === 0 && want > 0)
      return `${role} '${info.name}' is ${dtype}, and TFLite's web API exposes no data for ${dtype} tensors (it carries ${WEB_API_DTYPES.join(', ')})`;
    return `${role} '${info.name}': TFLite's web API holds ${held} bytes for it, not ${want}`;
  }

  async run(feeds: Record<string, Tensor>, options: RunOptions = {}): Promise<Record<string, Tensor>> {
    if (this.disposed) this.fail('this session was disposed; create a new one');
    const names = this.inputs.map((i) => i.name);
    for (const name of Object.keys(feeds))
      if (!names.includes(name))
        throw new InvalidArgumentError(`unknown input '${name}'; the model takes ${names.join(', ')}`, name);
    this.inputs.forEach((info, i) => {
      const t = feeds[info.name];
      if (!t)
        throw new InvalidArgumentError(`missing input '${info.name}'; the model takes ${names.join(', ')}`, info.name);
      this.checkFeed(info, t);
      const target = heapBytes(this.runtimeInputs[i]);
      if (target.byteLength !== t.byteLength)
        this.fail(this.bytesMismatch('input', info, target.byteLength, t.byteLength));
      target.set(t.bytes);
    });
    this.log.take();
    if (!this.runner.Infer())
      this.fail(`TFLite failed to run the model: ${this.log.take().join('; ') || 'no reason given'}`);
    return this.collect(options.outputs);
  }

  private collect(wanted: readonly string[] | undefined): Record<string, Tensor> {
    if (wanted) {
      const names = this.outputs.map((o) => o.name);
      const unknown = wanted.find((n) => !names.includes(n));
      if (unknown !== undefined)
        throw new InvalidArgumentError(`unknown output '${unknown}'; the model gives ${names.join(', ')}`, unknown);
    }
    const out: Record<string, Tensor> = {};
    this.outputs.forEach((info, i) => {
      if (wanted && !wanted.includes(info.name)) return;
      const dtype = this.dtypeOf(info, 'output');
      const dims = this.runtimeOutputs[i].shape.split(',').filter(Boolean).map(Number);
      const bytes = heapBytes(this.runtimeOutputs[i]);
      const want = byteLengthOf(dtype, shapeSize(dims));
      if (bytes.byteLength !== want) this.fail(this.bytesMismatch('output', info, bytes.byteLength, want));
      out[info.name] = Tensor.fromBytes(dtype, dims, bytes.slice());
    });
    return out;
  }

  /** TFLite's per-operator profile (when the session was created with `profiling`), as its summary text. */
  profileSummary(): string {
    return this.runner.GetProfilingSummary();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [...this.runtimeInputs, ...this.runtimeOutputs]) t.delete();
    this.runner.delete();
    // The interpreter reads weights from the model bytes in place: they live as long as the runner.
    this.module._free(this.modelPointer);
  }
}
