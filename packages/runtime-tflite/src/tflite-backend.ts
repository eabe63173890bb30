import {
  BackendError,
  InvalidArgumentError,
  Model,
  UnsupportedOpError,
  type Backend,
  type SessionOptions,
} from '@edgeml/core';
import { readTfliteHeader } from './tflite-header.js';
import { TfliteSession } from './tflite-session.js';
import { InterpreterLog, loadTfliteWasm, type TfliteWasmModule, type TfliteWasmSource } from './wasm-interpreter.js';

const NAME = 'tflite';

/**
 * The `@tensorflow/tfjs-tflite` release whose wasm build of TFLite runs here: its web API
 * reports no TFLite version of its own, so reports name the package (a test checks that this
 * is the installed one).
 */
export const TFJS_TFLITE_VERSION = '0.0.1-alpha.10';

/** Options of {@link TfliteBackend}. */
export interface TfliteBackendOptions {
  /** Where TFLite's wasm interpreter comes from (Node finds it in `@tensorflow/tfjs-tflite` by itself). */
  wasm?: TfliteWasmSource;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && !('document' in globalThis);

/** Bytes and a name for errors from a path, URL or bytes. */
async function readSource(model: Uint8Array | string): Promise<{ bytes: Uint8Array; source: string }> {
  if (model instanceof Uint8Array) return { bytes: model, source: 'the .tflite bytes' };
  if (isNode && !/^(https?|data|blob):/.test(model)) {
    const fs = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const file = model.startsWith('file:') ? fileURLToPath(model) : model;
    if (!fs.existsSync(file)) throw new InvalidArgumentError(`model file '${model}' does not exist`, 'model');
    return { bytes: new Uint8Array(await fs.promises.readFile(file)), source: `'${model}'` };
  }
  let response: Response;
  try {
    response = await fetch(model);
  } catch (e) {
    throw new BackendError(`could not fetch model '${model}': ${(e as Error).message}`, { backend: NAME, cause: e });
  }
  if (!response.ok)
    throw new BackendError(`could not fetch model '${model}': HTTP ${response.status} ${response.statusText}`, {
      backend: NAME,
    });
  return { bytes: new Uint8Array(await response.arrayBuffer()), source: `'${model}'` };
}

/** The interpreter's reason a model did not load, as the typed error that fits it. */
function loadError(source: string, status: string, log: string[]): Error {
  // TFLite repeats itself (each failed delegate attempt logs again): say each thing once.
  const said = [...new Set(log.map((l) => l.trim()).filter(Boolean))].join('; ');
  const interpreter = `the wasm interpreter of @tensorflow/tfjs-tflite ${TFJS_TFLITE_VERSION}`;
  const builtin = /Didn't find op for builtin opcode '([^']*)' version '(\d+)'/.exec(said);
  if (builtin)
    return new UnsupportedOpError(
      builtin[1],
      'tflite',
      Number(builtin[2]),
      `${source}: ${interpreter} has no kernel for builtin op ${builtin[1]} version ${builtin[2]} (${said}). Convert the model without it, or run it on a newer TFLite runtime`,
    );
  const unknown = /Op builtin_code out of range: (\d+)/.exec(said);
  if (unknown)
    return new UnsupportedOpError(
      `builtin operator ${unknown[1]}`,
      'tflite',
      undefined,
      `${source}: uses builtin operator code ${unknown[1]}, newer than ${interpreter} knows (${said}). Convert the model without it, or run it on a newer TFLite runtime`,
    );
  const custom = /unresolved custom op: ([^.\s]+)/i.exec(said);
  if (custom)
    return new UnsupportedOpError(
      custom[1],
      'tflite-custom',
      undefined,
      `${source}: custom op ${custom[1]} is not built into ${interpreter} (${said}); custom and Select TF ops cannot run here`,
    );
  return new BackendError(`${source}: TFLite could not load the model: ${status}${said ? ` (${said})` : ''}`, {
    backend: NAME,
  });
}

/**
 * Backend that runs .tflite models on TensorFlow Lite's own interpreter, compiled to
 * WebAssembly (the build `@tensorflow/tfjs-tflite` ships, with the XNNPACK delegate), in Node
 * and in browsers. It runs the main subgraph of any .tflite file whose ops that build has
 * (float, float16-weight, dynamic-range and full-integer int8 models alike). ONNX models are
 * not its input: export them to .tflite first.
 *
 * Session options: `intraOpThreads` sets TFLite's thread count (this single-threaded wasm build
 * runs one thread whatever it is set to); `profiling` turns on TFLite's op profiler
 * ({@link TfliteSession.profileSummary}); other options are ignored.
 *
 * @example
 * ```ts
 * const backend = new TfliteBackend();
 * await backend.init();
 * const session = await backend.createSession('model.tflite');
 * console.log(session.inputs[0]); // { name, type: { kind: 'tensor', dtype: 'int8', shape: [1, 96, 96, 1] }, quantization: { scale, zeroPoint, axis } }
 * const out = await session.run({ [session.inputs[0].name]: input });
 * await session.dispose();
 * ```
 */
export class TfliteBackend implements Backend {
  readonly name = NAME;
  readonly version = TFJS_TFLITE_VERSION;
  private module?: Promise<TfliteWasmModule>;
  private readonly log = new InterpreterLog();

  constructor(private readonly options: TfliteBackendOptions = {}) {}

  async init(): Promise<void> {
    await this.wasm();
  }

  private wasm(): Promise<TfliteWasmModule> {
    this.module ??= loadTfliteWasm(this.options.wasm ?? {}, this.log);
    return this.module;
  }

  async createSession(model: Model | Uint8Array | string, options: SessionOptions = {}): Promise<TfliteSession> {
    if (model instanceof Model)
      throw new InvalidArgumentError(
        'the tflite backend runs .tflite files, not ONNX models: export the model to .tflite first (edgeml export model.onnx -o model.tflite), or run it on an onnxruntime backend',
        'model',
      );
    if (!(model instanceof Uint8Array) && typeof model !== 'string')
      throw new InvalidArgumentError('createSession takes .tflite bytes, a file path or a URL', 'model');
    const threads = options.intraOpThreads ?? 0;
    if (!(Number.isInteger(threads) && threads >= 0))
      throw new InvalidArgumentError(`intraOpThreads must be an integer ≥ 0, got ${threads}`, 'intraOpThreads');
    const { bytes, source } = await readSource(model);
    const header = readTfliteHeader(bytes, source);
    const wasm = await this.wasm();
    // The interpreter reads the model in place for as long as it lives, so the bytes get their own heap copy.
    const pointer = wasm._malloc(bytes.byteLength);
    if (!pointer)
      throw new BackendError(`${source}: the wasm heap has no room for ${bytes.byteLength} bytes`, { backend: NAME });
    wasm.HEAPU8.set(bytes, pointer);
    this.log.take();
    const created = wasm.TFLiteWebModelRunner.CreateFromBufferAndOptions(pointer, bytes.byteLength, {
      numThreads: threads === 0 ? -1 : threads,
      enableProfiling: !!options.profiling,
      maxProfilingBufferEntries: 1024,
    });
    try {
      if (!created.ok()) {
        wasm._free(pointer);
        throw loadError(source, created.errorMessage(), this.log.take());
      }
      return new TfliteSession(wasm, created.value(), pointer, header, source, this.log);
    } finally {
      created.delete();
    }
  }
}
