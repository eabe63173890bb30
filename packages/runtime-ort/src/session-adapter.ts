import { BackendError, InvalidArgumentError, type DType, type Model, type Tensor } from '@edgeml/core';
import type { RunOptions, Session, ValueInfo } from '@edgeml/core';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-common';
import { tensorFromOrt, type OrtTensorConverter } from './tensor-conversion.js';

/** An execution provider asked for but passed over, and why (as {@link Session.skippedExecutionProviders} lists them). */
export type SkippedExecutionProvider = NonNullable<Session['skippedExecutionProviders']>[number];

/** What an {@link OrtSessionAdapter} needs besides the onnxruntime session it wraps. */
export interface OrtSessionAdapterOptions {
  /** The backend's name, for error messages (e.g. `onnxruntime-node`). */
  backend: string;
  /** Turns core Tensors into the runtime's own tensors (see {@link ortTensorConverter}). */
  toRuntime: OrtTensorConverter;
  /** Execution providers the session was created with, best first. */
  executionProviders: readonly string[];
  /** Providers passed over before this one was made, with why. */
  skippedExecutionProviders?: readonly SkippedExecutionProvider[];
  /** The IR the session was made from, when there is one: it knows value types onnxruntime's metadata leaves out. */
  model?: Model;
}

function metadataToInfo(
  names: readonly string[],
  meta: readonly InferenceSession.ValueMetadata[] | undefined,
): ValueInfo[] {
  return names.map((name, i) => {
    const m = meta?.[i];
    if (!m || !m.isTensor) return { name, type: undefined };
    return {
      name,
      type: {
        kind: 'tensor',
        dtype: m.type as DType,
        shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : null)),
      },
    };
  });
}

/**
 * A core {@link Session} over an onnxruntime InferenceSession (node or web): feed checks that
 * name the inputs, zero-copy tensor conversion both ways, and runtime failures as BackendErrors.
 * Subclass it for what one runtime adds (onnxruntime-node's profiler).
 *
 * @example
 * ```ts
 * import * as ort from 'onnxruntime-node';
 * const session = new OrtSessionAdapter(await ort.InferenceSession.create('model.onnx'), {
 *   backend: 'onnxruntime-node',
 *   toRuntime: ortTensorConverter('onnxruntime-node', ort.Tensor),
 *   executionProviders: ['cpu'],
 * });
 * const { y } = await session.run({ x: Tensor.from('float32', [1, 2], [3, 4]) });
 * ```
 */
export class OrtSessionAdapter implements Session {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly executionProviders: readonly string[];
  readonly skippedExecutionProviders: readonly SkippedExecutionProvider[];
  private readonly backend: string;
  private readonly toRuntime: OrtTensorConverter;
  private disposed = false;

  constructor(
    protected readonly session: InferenceSession,
    options: OrtSessionAdapterOptions,
  ) {
    this.backend = options.backend;
    this.toRuntime = options.toRuntime;
    this.executionProviders = options.executionProviders;
    this.skippedExecutionProviders = options.skippedExecutionProviders ?? [];
    const inputs = metadataToInfo(session.inputNames, session.inputMetadata);
    const outputs = metadataToInfo(session.outputNames, session.outputMetadata);
    if (options.model) {
      // The IR knows non-tensor types (sequences, maps) that onnxruntime's metadata leaves out.
      const graph = options.model.graph;
      const byName = new Map([...graph.inputs, ...graph.outputs].map((v) => [v.name, v.type]));
      for (const info of [...inputs, ...outputs]) info.type ??= byName.get(info.name);
    }
    this.inputs = inputs;
    this.outputs = outputs;
  }

  async run(feeds: Record<string, Tensor>, options: RunOptions = {}): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new BackendError('this session was disposed; create a new one', { backend: this.backend });
    const inputNames = this.session.inputNames;
    const runtimeFeeds: Record<string, OrtTensor> = {};
    let given = 0;
    for (const name of inputNames) {
      const t = feeds[name];
      if (!t) throw new InvalidArgumentError(`missing input '${name}'; the model takes ${inputNames.join(', ')}`, name);
      runtimeFeeds[name] = this.toRuntime(t, name);
      given++;
    }
    // Only walk the feeds again when there are extra keys to name.
    if (Object.keys(feeds).length !== given) {
      const extra = Object.keys(feeds).find((k) => !inputNames.includes(k));
      throw new InvalidArgumentError(`unknown input '${extra}'; the model takes ${inputNames.join(', ')}`, extra);
    }
    let result: InferenceSession.ReturnType;
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
