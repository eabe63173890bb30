import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  BackendError,
  InvalidArgumentError,
  Model,
  encodeModel,
  modelByteEstimate,
  type Backend,
  type IntegerKernelTraits,
  type Session,
  type SessionOptions,
} from '@edgeml/core';
import { collectGarbage } from './collect-garbage.js';
import { integerKernelsOfThisCpu } from './integer-kernels.js';
import {
  OrtSessionAdapter,
  createSessionWithFallback,
  missingKernelError,
  ortSessionOptions,
  type OrtSessionAdapterOptions,
} from '@edgeml/runtime-ort';
import { saveModel } from '@edgeml/core/node';
import { toOrtTensor } from './tensor-bridge.js';

const NAME = 'onnxruntime-node';

/** Execution providers this onnxruntime-node build ships with. */
export function availableExecutionProviders(): string[] {
  return ort
    .listSupportedBackends()
    .filter((b) => b.bundled)
    .map((b) => b.name);
}

function profilePrefixOf(options: SessionOptions): string | undefined {
  if (!options.profiling) return undefined;
  const prefix = typeof options.profiling === 'object' && options.profiling.filePrefix;
  return prefix || path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-profile-')), 'profile');
}

/** Options of {@link NodeBackend}. */
export interface NodeBackendOptions {
  /**
   * In-memory models whose tensors hold at least this many bytes (default 16 MiB) reach onnxruntime as a
   * temporary file with page-aligned external data instead of one protobuf buffer: onnxruntime
   * then maps the weights rather than parsing and copying them, and no encoded copy of the model
   * is held in JavaScript. On a 96 MiB model this halves what session creation adds to peak RSS.
   */
  fileBackedThresholdBytes?: number;
}

/** Write `model` with its weights as page-aligned external data into a fresh temporary folder. */
async function fileBacked(model: Model): Promise<{ dir: string; file: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-session-'));
  const file = path.join(dir, 'model.onnx');
  await saveModel(file, model, { externalData: { location: 'model.onnx.data', threshold: 4096, align: 4096 } });
  // The session about to open is the largest thing this process holds; let no garbage (the
  // previous phases' and the writer's own) sit beside it.
  collectGarbage();
  return { dir, file };
}

/**
 * Backend over onnxruntime-node (CPU binaries bundled in the npm package).
 *
 * @example
 * ```ts
 * const backend = new NodeBackend();
 * await backend.init();
 * const session = await backend.createSession('model.onnx', { intraOpThreads: 1 });
 * const out = await session.run({ input: Tensor.from('float32', [1, 3], [1, 2, 3]) });
 * await session.dispose();
 * ```
 */
export class NodeBackend implements Backend {
  readonly name = NAME;
  readonly version = ort.env.versions.node;
  /** Detected once per process: whether this CPU's int8 kernels saturate (see `IntegerKernelTraits`). */
  readonly integerKernels: IntegerKernelTraits = integerKernelsOfThisCpu();
  private readonly fileBackedThreshold: number;

  constructor(options: NodeBackendOptions = {}) {
    const t = options.fileBackedThresholdBytes ?? 16 * 2 ** 20;
    if (!(t >= 0))
      throw new InvalidArgumentError(
        `fileBackedThresholdBytes must be a byte count ≥ 0, got ${t}`,
        'fileBackedThresholdBytes',
      );
    this.fileBackedThreshold = t;
  }

  async init(): Promise<void> {
    // Loading the binding is what can fail (missing .so, wrong platform); surface it here.
    try {
      availableExecutionProviders();
    } catch (e) {
      throw new BackendError(`onnxruntime-node failed to load its native binding: ${(e as Error).message}`, {
        backend: NAME,
        cause: e,
      });
    }
  }

  async createSession(model: Model | Uint8Array | string, options: SessionOptions = {}): Promise<Session> {
    const ortOptions = ortSessionOptions(options);
    let source: string | Uint8Array;
    let temporary: { dir: string; file: string } | undefined;
    if (typeof model === 'string') {
      if (!fs.existsSync(model)) throw new InvalidArgumentError(`model file '${model}' does not exist`, 'model');
      source = model;
    } else if (model instanceof Uint8Array) source = model;
    // Tensor bytes decide (a sum, no protobuf built): they are nearly all of a large model's size.
    else if (model instanceof Model && modelByteEstimate(model) >= this.fileBackedThreshold)
      source = (temporary = await fileBacked(model)).file;
    else if (model instanceof Model) source = encodeModel(model, { placeTensor: () => 'inline' });
    else throw new InvalidArgumentError('createSession takes a Model, ONNX bytes, or a file path', 'model');
    try {
      return await this.open(model, source, options, ortOptions);
    } finally {
      // onnxruntime has read or mapped the file by now; a mapping outlives the unlinked file.
      if (temporary) fs.rmSync(temporary.dir, { recursive: true, force: true });
    }
  }

  private async open(
    model: Model | Uint8Array | string,
    source: string | Uint8Array,
    options: SessionOptions,
    ortOptions: ReturnType<typeof ortSessionOptions>,
  ): Promise<Session> {
    const ir = model instanceof Model ? model : undefined;
    const profilePrefix = profilePrefixOf(options);
    if (profilePrefix) Object.assign(ortOptions, { enableProfiling: true, profileFilePrefix: profilePrefix });

    const available = availableExecutionProviders();
    const { session, executionProviders, skippedExecutionProviders } = await createSessionWithFallback({
      backend: NAME,
      model,
      requested: options.executionProviders,
      available,
      unavailableReason: `not available in this build (available: ${available.join(', ')})`,
      lastResort: 'cpu',
      chain: true,
      create: (providers) =>
        typeof source === 'string'
          ? ort.InferenceSession.create(source, { ...ortOptions, executionProviders: providers })
          : ort.InferenceSession.create(source, { ...ortOptions, executionProviders: providers }),
      explainFailure: (e) =>
        missingKernelError(e, NAME, ir ?? (typeof source === 'string' ? () => fs.readFileSync(source) : source)),
    });
    return new NodeSession(session, profilePrefix, {
      backend: NAME,
      toRuntime: toOrtTensor,
      executionProviders,
      skippedExecutionProviders,
      model: ir,
    });
  }
}

class NodeSession extends OrtSessionAdapter {
  constructor(
    session: ort.InferenceSession,
    private readonly profilePrefix: string | undefined,
    options: OrtSessionAdapterOptions,
  ) {
    super(session, options);
  }

  async endProfiling(): Promise<string | undefined> {
    if (!this.profilePrefix) return undefined;
    this.session.endProfiling();
    const dir = path.dirname(path.resolve(this.profilePrefix));
    const base = path.basename(this.profilePrefix);
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(`${base}_`) && f.endsWith('.json'))
      .map((f) => path.join(dir, f))
      .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
    return files[0];
  }
}
