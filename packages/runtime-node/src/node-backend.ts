import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { BackendError, InvalidArgumentError, Model, encodeModel, type Backend, type RunOptions, type Session, type SessionOptions, type Tensor, type ValueInfo, type DType } from '@edgeml/core';
import { fromOrtTensor, toOrtTensor } from './tensor-bridge.js';

const NAME = 'onnxruntime-node';

/** Execution providers this onnxruntime-node build ships with. */
export function availableExecutionProviders(): string[] {
  return ort.listSupportedBackends().filter((b) => b.bundled).map((b) => b.name);
}

function ortOptions(options: SessionOptions, eps: string[], profilePrefix: string | undefined): ort.InferenceSession.SessionOptions {
  // Fatal only: warnings (unused initializers and the like) are noise in a library, and every
  // error already reaches the caller as a BackendError carrying onnxruntime's message.
  const o: ort.InferenceSession.SessionOptions = { executionProviders: eps, logSeverityLevel: 4 };
  if (options.intraOpThreads !== undefined) o.intraOpNumThreads = options.intraOpThreads;
  if (options.interOpThreads !== undefined) o.interOpNumThreads = options.interOpThreads;
  if (options.graphOptimizationLevel) o.graphOptimizationLevel = options.graphOptimizationLevel;
  if (profilePrefix) { o.enableProfiling = true; o.profileFilePrefix = profilePrefix; }
  return { ...o, ...(options.extra as object) };
}

function validate(options: SessionOptions): void {
  for (const key of ['intraOpThreads', 'interOpThreads'] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new InvalidArgumentError(`${key} must be a non-negative integer, got ${v}`, key);
  }
  const lvl = options.graphOptimizationLevel;
  if (lvl !== undefined && !['disabled', 'basic', 'extended', 'all'].includes(lvl)) throw new InvalidArgumentError(`graphOptimizationLevel must be disabled, basic, extended or all, got '${lvl}'`, 'graphOptimizationLevel');
}

function metadataToInfo(names: readonly string[], meta: readonly ort.InferenceSession.ValueMetadata[] | undefined): ValueInfo[] {
  return names.map((name, i) => {
    const m = meta?.[i];
    if (!m || !m.isTensor) return { name, type: undefined };
    return { name, type: { kind: 'tensor', dtype: (m.type as DType) ?? undefined, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : null)) } };
  });
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
      throw new BackendError(`onnxruntime-node failed to load its native binding: ${(e as Error).message}`, { backend: NAME, cause: e });
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
    const failures: string[] = skipped.map((ep) => `${ep}: not available in this build (available: ${available.join(', ')})`);
    for (let i = 0; i < candidates.length; i++) {
      const eps = candidates.slice(i);
      try {
        const session = await (typeof source === 'string'
          ? ort.InferenceSession.create(source, ortOptions(options, eps, profilePrefix))
          : ort.InferenceSession.create(source, ortOptions(options, eps, profilePrefix)));
        return new NodeSession(session, eps, profilePrefix, model instanceof Model ? model : undefined);
      } catch (e) {
        failures.push(`${eps[0]}: ${(e as Error).message}`);
        // A model error fails on every provider alike; stop at cpu.
        if (eps[0] === 'cpu') break;
      }
    }
    const what = typeof model === 'string' ? `'${model}'` : 'the model';
    throw new BackendError(`onnxruntime-node could not create a session for ${what}:\n  ${failures.join('\n  ')}`, { backend: NAME });
  }
}

class NodeSession implements Session {
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  private readonly inputNames: readonly string[];
  private disposed = false;

  constructor(private readonly session: ort.InferenceSession, readonly executionProviders: string[], private readonly profilePrefix: string | undefined, model: Model | undefined) {
    this.inputs = metadataToInfo(session.inputNames, session.inputMetadata);
    this.inputNames = session.inputNames;
    this.outputs = metadataToInfo(session.outputNames, session.outputMetadata);
    if (model) {
      // The IR knows non-tensor types (sequences, maps) that ORT's metadata leaves out.
      const byName = new Map([...model.graph.inputs, ...model.graph.outputs].map((v) => [v.name, v.type]));
      for (const info of [...this.inputs, ...this.outputs]) info.type ??= byName.get(info.name);
    }
  }

  async run(feeds: Record<string, Tensor>, options: RunOptions = {}): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new BackendError('this session was disposed; create a new one', { backend: NAME });
    const ortFeeds: Record<string, ort.Tensor> = {};
    let given = 0;
    for (const name of this.inputNames) {
      const t = feeds[name];
      if (!t) throw new InvalidArgumentError(`missing input '${name}'; the model takes ${this.inputNames.join(', ')}`, name);
      ortFeeds[name] = toOrtTensor(t, name);
      given++;
    }
    // Only walk the feeds again when there are extra keys to name.
    if (Object.keys(feeds).length !== given) {
      const extra = Object.keys(feeds).find((k) => !this.inputNames.includes(k));
      throw new InvalidArgumentError(`unknown input '${extra}'; the model takes ${this.inputNames.join(', ')}`, extra);
    }
    let result: ort.InferenceSession.ReturnType;
    try {
      result = options.outputs || options.tag
        ? await this.session.run(ortFeeds, (options.outputs ?? this.session.outputNames) as string[], options.tag ? { tag: options.tag } : {})
        : await this.session.run(ortFeeds);
    } catch (e) {
      throw new BackendError(`onnxruntime-node run failed: ${(e as Error).message}`, { backend: NAME, cause: e });
    }
    const out: Record<string, Tensor> = {};
    for (const name in result) out[name] = fromOrtTensor(result[name] as ort.Tensor);
    return out;
  }

  async endProfiling(): Promise<string | undefined> {
    if (!this.profilePrefix) return undefined;
    this.session.endProfiling();
    const dir = path.dirname(path.resolve(this.profilePrefix));
    const base = path.basename(this.profilePrefix);
    const files = fs.readdirSync(dir).filter((f) => f.startsWith(`${base}_`) && f.endsWith('.json'))
      .map((f) => path.join(dir, f)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
    return files[0];
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}
