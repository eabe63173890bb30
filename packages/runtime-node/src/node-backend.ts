import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  BackendError,
  InvalidArgumentError,
  Model,
  OrtSessionAdapter,
  encodeModel,
  missingKernelError,
  type Backend,
  type OrtSessionLike,
  type Session,
  type SessionOptions,
} from '@edgeml/core';
import { toOrtTensor } from './tensor-bridge.js';

const NAME = 'onnxruntime-node';

/** Execution providers this onnxruntime-node build ships with. */
export function availableExecutionProviders(): string[] {
  return ort
    .listSupportedBackends()
    .filter((b) => b.bundled)
    .map((b) => b.name);
}

function ortOptions(
  options: SessionOptions,
  eps: string[],
  profilePrefix: string | undefined,
): ort.InferenceSession.SessionOptions {
  // Fatal only: warnings (unused initializers and the like) are noise in a library, and every
  // error already reaches the caller as a BackendError carrying onnxruntime's message.
  const o: ort.InferenceSession.SessionOptions = { executionProviders: eps, logSeverityLevel: 4 };
  if (options.intraOpThreads !== undefined) o.intraOpNumThreads = options.intraOpThreads;
  if (options.interOpThreads !== undefined) o.interOpNumThreads = options.interOpThreads;
  if (options.graphOptimizationLevel) o.graphOptimizationLevel = options.graphOptimizationLevel;
  if (profilePrefix) {
    o.enableProfiling = true;
    o.profileFilePrefix = profilePrefix;
  }
  return { ...o, ...(options.extra as object) };
}

function validate(options: SessionOptions): void {
  for (const key of ['intraOpThreads', 'interOpThreads'] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 0))
      throw new InvalidArgumentError(`${key} must be a non-negative integer, got ${v}`, key);
  }
  const lvl = options.graphOptimizationLevel;
  if (lvl !== undefined && !['disabled', 'basic', 'extended', 'all'].includes(lvl))
    throw new InvalidArgumentError(
      `graphOptimizationLevel must be disabled, basic, extended or all, got '${lvl}'`,
      'graphOptimizationLevel',
    );
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
    validate(options);
    let source: string | Uint8Array;
    if (typeof model === 'string') {
      if (!fs.existsSync(model)) throw new InvalidArgumentError(`model file '${model}' does not exist`, 'model');
      source = model;
    } else if (model instanceof Uint8Array) source = model;
    else if (model instanceof Model) source = encodeModel(model, { placeTensor: () => 'inline' });
    else throw new InvalidArgumentError('createSession takes a Model, ONNX bytes, or a file path', 'model');

    const available = availableExecutionProviders();
    const wanted = options.executionProviders?.length ? [...options.executionProviders] : ['cpu'];
    const candidates = wanted.filter((ep) => available.includes(ep));
    if (!candidates.includes('cpu')) candidates.push('cpu');
    const skipped = wanted.filter((ep) => !available.includes(ep));

    let profilePrefix: string | undefined;
    if (options.profiling) {
      const prefix = typeof options.profiling === 'object' && options.profiling.filePrefix;
      profilePrefix = prefix || path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-profile-')), 'profile');
    }
    const failures: { name: string; reason: string }[] = skipped.map((ep) => ({
      name: ep,
      reason: `not available in this build (available: ${available.join(', ')})`,
    }));
    for (let i = 0; i < candidates.length; i++) {
      const eps = candidates.slice(i);
      try {
        const session = await (typeof source === 'string'
          ? ort.InferenceSession.create(source, ortOptions(options, eps, profilePrefix))
          : ort.InferenceSession.create(source, ortOptions(options, eps, profilePrefix)));
        const adapted = new NodeSession(session, eps, profilePrefix, model instanceof Model ? model : undefined);
        adapted.skippedExecutionProviders = [...failures];
        return adapted;
      } catch (e) {
        // A model the CPU kernels cannot run fails the same on every provider: say what, not where.
        const missing =
          eps[0] === 'cpu'
            ? missingKernelError(
                e,
                NAME,
                model instanceof Model ? model : typeof source === 'string' ? fs.readFileSync(source) : source,
              )
            : undefined;
        if (missing) throw missing;
        failures.push({ name: eps[0], reason: (e as Error).message });
        // A model error fails on every provider alike; stop at cpu.
        if (eps[0] === 'cpu') break;
      }
    }
    const what = typeof model === 'string' ? `'${model}'` : 'the model';
    throw new BackendError(
      `onnxruntime-node could not create a session for ${what}:\n  ${failures.map((f) => `${f.name}: ${f.reason}`).join('\n  ')}`,
      { backend: NAME },
    );
  }
}

class NodeSession extends OrtSessionAdapter<ort.Tensor> {
  constructor(
    session: ort.InferenceSession,
    executionProviders: string[],
    private readonly profilePrefix: string | undefined,
    model: Model | undefined,
  ) {
    super(session as unknown as OrtSessionLike<ort.Tensor>, NAME, toOrtTensor, executionProviders, model);
  }

  async endProfiling(): Promise<string | undefined> {
    if (!this.profilePrefix) return undefined;
    (this.session as unknown as ort.InferenceSession).endProfiling();
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
