import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  BackendError,
  InvalidArgumentError,
  Model,
  encodeModel,
  type Backend,
  type Session,
  type SessionOptions,
} from '@edgeml/core';
import {
  OrtSessionAdapter,
  createSessionWithFallback,
  missingKernelError,
  ortSessionOptions,
  type OrtSessionAdapterOptions,
} from '@edgeml/runtime-ort';
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
    if (typeof model === 'string') {
      if (!fs.existsSync(model)) throw new InvalidArgumentError(`model file '${model}' does not exist`, 'model');
      source = model;
    } else if (model instanceof Uint8Array) source = model;
    else if (model instanceof Model) source = encodeModel(model, { placeTensor: () => 'inline' });
    else throw new InvalidArgumentError('createSession takes a Model, ONNX bytes, or a file path', 'model');
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
