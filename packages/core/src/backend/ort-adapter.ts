import { BackendError, InvalidArgumentError, UnsupportedOpError } from '../errors.js';
import { decodeModel } from '../onnx/decode.js';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import type { Model } from '../ir/model.js';
import type { RunOptions, Session, ValueInfo } from './contract.js';

/**
 * What EdgeML needs of an onnxruntime tensor. onnxruntime-node and onnxruntime-web share
 * onnxruntime-common's Tensor, so one adapter serves both runtimes without core importing
 * either.
 */
export interface OrtTensorLike {
  readonly type: string;
  readonly data: unknown;
  readonly dims: readonly number[];
}

/** An onnxruntime value's metadata, as `InferenceSession.inputMetadata` reports it. */
export interface OrtValueMetadataLike {
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

/** The part of onnxruntime-common's InferenceSession the adapter uses. */
export interface OrtSessionLike<T extends OrtTensorLike> {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OrtValueMetadataLike[];
  readonly outputMetadata?: readonly OrtValueMetadataLike[];
  run(feeds: Record<string, T>, fetches?: readonly string[], options?: { tag?: string }): Promise<Record<string, T>>;
  run(feeds: Record<string, T>): Promise<Record<string, T>>;
  release(): Promise<void>;
}

/** Element types onnxruntime's JavaScript API can carry. */
export const ORT_JS_TYPES: ReadonlySet<string> = new Set([
  'float32',
  'uint8',
  'int8',
  'uint16',
  'int16',
  'int32',
  'int64',
  'string',
  'bool',
  'float16',
  'float64',
  'uint32',
  'uint64',
  'int4',
  'uint4',
]);

/**
 * A converter from core Tensors to a runtime's tensors that wraps each Tensor once: a Tensor's
 * dims and buffer never change, so feeding it again (benchmarks, streaming state) costs no
 * allocation, and in-place edits of its typed array still reach the runtime, which reads the
 * same buffer.
 */
export function ortTensorConverter<T extends OrtTensorLike>(
  backend: string,
  make: (type: string, data: unknown, dims: number[]) => T,
): (t: Tensor, inputName: string) => T {
  const wrappers = new WeakMap<Tensor, T>();
  return (t, inputName) => {
    let wrapped = wrappers.get(t);
    if (!wrapped) {
      if (!ORT_JS_TYPES.has(t.dtype))
        throw new BackendError(
          `input '${inputName}': ${backend} cannot take ${t.dtype} tensors from JavaScript (it accepts ${[...ORT_JS_TYPES].join(', ')})`,
          { backend },
        );
      // A plain array: onnxruntime-node reads dims through N-API, which is slow on frozen arrays.
      wrapped = make(t.dtype, t.data, t.dims.slice());
      wrappers.set(t, wrapped);
    }
    return wrapped;
  };
}

/** onnxruntime tensor → core Tensor, keeping the runtime's typed array (no copy). */
export function tensorFromOrt(t: OrtTensorLike): Tensor {
  const dtype = t.type as DType;
  if (dtype === 'float16' && !(t.data instanceof Uint16Array)) {
    // Runtimes with a native Float16Array hand those out; keep float16 as raw bits like the rest of EdgeML.
    const src = t.data as ArrayBufferView;
    return Tensor.from('float16', t.dims, new Uint16Array(src.buffer, src.byteOffset, src.byteLength / 2));
  }
  return Tensor.from(dtype, t.dims, t.data as never);
}

function metadataToInfo(names: readonly string[], meta: readonly OrtValueMetadataLike[] | undefined): ValueInfo[] {
  return names.map((name, i) => {
    const m = meta?.[i];
    if (!m || !m.isTensor) return { name, type: undefined };
    return {
      name,
      type: {
        kind: 'tensor',
        dtype: (m.type as DType) ?? undefined,
        shape: (m.shape ?? []).map((d) =>
          typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : null,
        ),
      },
    };
  });
}

/**
 * A {@link Session} over an onnxruntime InferenceSession (node or web): feed checks that name
 * the inputs, zero-copy tensor conversion both ways, and runtime failures as BackendErrors.
 */
export class OrtSessionAdapter<T extends OrtTensorLike> implements Session {
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  /** Providers passed over before this session was made, with why. */
  skippedExecutionProviders: readonly { name: string; reason: string }[] = [];
  private readonly inputNames: readonly string[];
  private disposed = false;

  constructor(
    protected readonly session: OrtSessionLike<T>,
    private readonly backend: string,
    private readonly toRuntime: (t: Tensor, inputName: string) => T,
    readonly executionProviders: readonly string[],
    model?: Model,
  ) {
    this.inputs = metadataToInfo(session.inputNames, session.inputMetadata);
    this.inputNames = session.inputNames;
    this.outputs = metadataToInfo(session.outputNames, session.outputMetadata);
    if (model) {
      // The IR knows non-tensor types (sequences, maps) that onnxruntime's metadata leaves out.
      const byName = new Map([...model.graph.inputs, ...model.graph.outputs].map((v) => [v.name, v.type]));
      for (const info of [...this.inputs, ...this.outputs]) info.type ??= byName.get(info.name);
    }
  }

  async run(feeds: Record<string, Tensor>, options: RunOptions = {}): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new BackendError('this session was disposed; create a new one', { backend: this.backend });
    const runtimeFeeds: Record<string, T> = {};
    let given = 0;
    for (const name of this.inputNames) {
      const t = feeds[name];
      if (!t)
        throw new InvalidArgumentError(`missing input '${name}'; the model takes ${this.inputNames.join(', ')}`, name);
      runtimeFeeds[name] = this.toRuntime(t, name);
      given++;
    }
    // Only walk the feeds again when there are extra keys to name.
    if (Object.keys(feeds).length !== given) {
      const extra = Object.keys(feeds).find((k) => !this.inputNames.includes(k));
      throw new InvalidArgumentError(`unknown input '${extra}'; the model takes ${this.inputNames.join(', ')}`, extra);
    }
    let result: Record<string, T>;
    try {
      result =
        options.outputs || options.tag
          ? await this.session.run(
              runtimeFeeds,
              options.outputs ?? this.session.outputNames,
              options.tag ? { tag: options.tag } : {},
            )
          : await this.session.run(runtimeFeeds);
    } catch (e) {
      throw new BackendError(`${this.backend} run failed: ${(e as Error).message}`, {
        backend: this.backend,
        cause: e,
      });
    }
    const out: Record<string, Tensor> = {};
    for (const name in result) out[name] = tensorFromOrt(result[name]);
    return out;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

const MISSING_KERNEL = /Could not find an implementation for (\w+)\((\d+)\) node with name '([^']*)'/;

/**
 * onnxruntime's "Could not find an implementation for Op(version) node with name 'n'" as an
 * UnsupportedOpError naming the op, its domain (looked up in the model) and the node; undefined
 * for any other failure.
 */
export function missingKernelError(
  e: unknown,
  backend: string,
  model: Model | Uint8Array | undefined,
): UnsupportedOpError | undefined {
  const missing = MISSING_KERNEL.exec((e as Error)?.message ?? '');
  if (!missing) return undefined;
  const [, opType, opset, nodeName] = missing;
  let domain = '';
  try {
    const ir = model instanceof Uint8Array ? decodeModel(model) : model;
    for (const g of ir?.graphs() ?? [])
      for (const n of g) if (n.name === nodeName && n.opType === opType) domain = n.domain;
  } catch {
    // The runtime parsed it; if we cannot, the op name alone still says what is missing.
  }
  const qualified = domain && domain !== 'ai.onnx' ? `${domain}.${opType}` : opType;
  return new UnsupportedOpError(
    opType,
    domain,
    Number(opset),
    `${backend} has no kernel for ${qualified} (version ${opset}), used by ${nodeName ? `node '${nodeName}'` : 'an unnamed node'}; run this model on another runtime, or leave that op out of the transformation that made it`,
    nodeName,
  );
}
