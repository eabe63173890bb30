import * as ort from 'onnxruntime-web';
import {
  BackendError,
  Graph,
  InvalidArgumentError,
  Model,
  encodeModel,
  tensorType,
  type Backend,
  type Session,
  type SessionOptions,
} from '@edgeml/core';
import {
  OrtSessionAdapter,
  createSessionWithFallback,
  missingKernelError,
  ortSessionOptions,
} from '@edgeml/runtime-ort';
import { toWebTensor } from './tensor-bridge.js';
import { isNode, readModelSource } from './model-source.js';

const NAME = 'onnxruntime-web';

/**
 * The largest ONNX file onnxruntime-web can take: protobuf caps a message at 2 GiB, and the
 * 32-bit WebAssembly heap (4 GiB at most) must hold the model bytes and the weights unpacked
 * from them, about twice the file.
 */
export const MAX_WEB_MODEL_BYTES = 2 ** 31 - 1;

/** Where and how onnxruntime-web runs. Its wasm runtime starts once per page or process. */
export interface WebBackendOptions {
  /**
   * Where onnxruntime-web's `ort-wasm-*.wasm` / `.mjs` files are served from: a URL prefix
   * ending in `/`, or per-file URLs (`{ wasm, mjs }`). Default: beside the onnxruntime-web
   * module, which works in Node and with bundlers that copy its assets. Browsers cannot reach
   * a CDN here, so tests serve the files themselves.
   */
  wasmPaths?: string | { wasm?: string; mjs?: string };
  /** Threads of the wasm runtime (default: onnxruntime-web's choice; threads need cross-origin isolation in browsers). */
  numThreads?: number;
  /** Run inference in a web worker (browsers only). */
  proxy?: boolean;
  /** Execution providers in order of preference (default `['wasm']`); `'wasm'` is always the last resort. */
  executionProviders?: string[];
}

/** The wasm settings the runtime started with: it cannot restart in the same page or process. */
let startedWith: { numThreads?: number; wasmPaths?: WebBackendOptions['wasmPaths'] } | undefined;

/** Execution providers this platform can offer to onnxruntime-web (by feature detection, not a promise they work). */
export function availableWebExecutionProviders(): string[] {
  const nav = (globalThis as { navigator?: { gpu?: unknown; ml?: unknown } }).navigator;
  return [...(nav?.gpu ? ['webgpu'] : []), ...(nav?.ml ? ['webnn'] : []), 'wasm'];
}

function sameSettings(a: WebBackendOptions['wasmPaths'], b: WebBackendOptions['wasmPaths']): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** One Identity node: enough to make the wasm runtime start (and fail early if its files are missing). */
function probeModel(): Uint8Array {
  const g = new Graph('probe');
  const x = g.addInput('x', tensorType('float32', [1]));
  const y = g.op('Identity', [x]).outputs[0];
  y.name = 'y';
  y.type = tensorType('float32', [1]);
  g.outputs.push(y);
  return encodeModel(new Model(g, { opsetImports: new Map([['', 13]]), irVersion: 8 }));
}

function outOfMemoryError(e: unknown): BackendError | undefined {
  const message = (e as Error).message ?? String(e);
  if (!/OOM|out of memory|Array buffer allocation failed|memory access out of bounds/i.test(message)) return undefined;
  return new BackendError(
    `onnxruntime-web ran out of WebAssembly memory: ${message}. Its heap cannot grow past 4 GiB and holds the weights of every open session besides this model's bytes; dispose sessions no longer in use, or run this model on a native runtime such as onnxruntime-node`,
    { backend: NAME, cause: e },
  );
}

/**
 * Backend over onnxruntime-web: wasm (SIMD, threads) everywhere, webgpu and webnn where the
 * browser has them, tried in the order given with one error listing every provider that
 * failed. Works in Node (wasm) and in browsers.
 *
 * @example
 * ```ts
 * const backend = new WebBackend({ wasmPaths: '/ort/', numThreads: 2, executionProviders: ['webgpu', 'wasm'] });
 * await backend.init();
 * const session = await backend.createSession('/models/model.onnx');   // URL in a browser, path in Node
 * const out = await session.run({ input: Tensor.from('float32', [1, 3], [1, 2, 3]) });
 * ```
 */
export class WebBackend implements Backend {
  readonly name = NAME;
  readonly version = ort.env.versions.web;

  constructor(private readonly options: WebBackendOptions = {}) {
    const t = options.numThreads;
    if (t !== undefined && (!Number.isInteger(t) || t < 1))
      throw new InvalidArgumentError(`numThreads must be a positive integer, got ${t}`, 'numThreads');
  }

  async init(): Promise<void> {
    const { numThreads, wasmPaths, proxy } = this.options;
    if (startedWith) {
      if (
        (numThreads !== undefined && numThreads !== startedWith.numThreads) ||
        (wasmPaths !== undefined && !sameSettings(wasmPaths, startedWith.wasmPaths))
      ) {
        const scope = isNode ? 'process' : 'page';
        throw new BackendError(
          `onnxruntime-web's wasm runtime already started in this ${scope} with ${startedWith.numThreads ?? 'default'} threads and wasm files from ${JSON.stringify(startedWith.wasmPaths ?? 'the package')}; it cannot restart with other settings. Use one WebBackend configuration per ${scope}`,
          { backend: NAME },
        );
      }
      return;
    }
    if (numThreads !== undefined) ort.env.wasm.numThreads = numThreads;
    if (wasmPaths !== undefined) ort.env.wasm.wasmPaths = wasmPaths;
    if (proxy !== undefined) ort.env.wasm.proxy = proxy;
    ort.env.logLevel = 'fatal';
    try {
      const probe = await ort.InferenceSession.create(probeModel(), { executionProviders: ['wasm'] });
      await probe.release();
    } catch (e) {
      const where = wasmPaths === undefined ? 'beside the onnxruntime-web module' : `from ${JSON.stringify(wasmPaths)}`;
      throw new BackendError(
        `onnxruntime-web could not start its wasm runtime (files loaded ${where}): ${(e as Error).message}. Serve onnxruntime-web's dist/ort-wasm-*.wasm and .mjs files there, or set wasmPaths to where they are`,
        { backend: NAME, cause: e },
      );
    }
    startedWith = { numThreads: ort.env.wasm.numThreads, wasmPaths };
  }

  async createSession(model: Model | Uint8Array | string, options: SessionOptions = {}): Promise<Session> {
    const ortOptions = ortSessionOptions(options);
    if (!startedWith) await this.init();
    const bytes = await readModelSource(model, MAX_WEB_MODEL_BYTES);
    const ir = model instanceof Model ? model : undefined;
    const available = availableWebExecutionProviders();
    const { session, executionProviders, skippedExecutionProviders } = await createSessionWithFallback({
      backend: NAME,
      model,
      requested: options.executionProviders?.length ? options.executionProviders : this.options.executionProviders,
      available,
      unavailableReason: `this platform does not offer it (available: ${available.join(', ')})`,
      lastResort: 'wasm',
      // One provider per attempt: onnxruntime places what a provider cannot run on its CPU kernels anyway.
      chain: false,
      create: (providers) => ort.InferenceSession.create(bytes, { ...ortOptions, executionProviders: providers }),
      explainFailure: (e) => missingKernelError(e, NAME, ir ?? bytes) ?? outOfMemoryError(e),
    });
    return new OrtSessionAdapter(session, {
      backend: NAME,
      toRuntime: toWebTensor,
      executionProviders,
      skippedExecutionProviders,
      model: ir,
    });
  }
}
