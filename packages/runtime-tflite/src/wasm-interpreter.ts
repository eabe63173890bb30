import { BackendError } from '@edgeml/core';

/** A tensor as TFLite's web API (TFLiteWebModelRunner) reports it. */
export interface WasmTensorInfo {
  id: number;
  name: string;
  /** TFLite's element type name (`float32`, `int8`, …). */
  dataType: string;
  /** Comma-separated dimensions, e.g. `"1,224,224,3"`. */
  shape: string;
  /** A view of the tensor's bytes on the wasm heap, valid until the heap grows. */
  data(): ArrayBufferView;
  /** Free the embind copy. */
  delete(): void;
}

interface WasmVector<T> {
  size(): number;
  get(i: number): T;
  delete(): void;
}

/** TFLite's interpreter behind the web API: one model, its tensors allocated. */
export interface WasmModelRunner {
  GetInputs(): WasmVector<WasmTensorInfo>;
  GetOutputs(): WasmVector<WasmTensorInfo>;
  Infer(): boolean;
  GetProfilingSummary(): string;
  delete(): void;
}

/** The emscripten module of `tflite_web_api_cc*.js`, with what the backend uses of it. */
export interface TfliteWasmModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  TFLiteWebModelRunner: {
    CreateFromBufferAndOptions(
      pointer: number,
      size: number,
      options: { numThreads: number; enableProfiling: boolean; maxProfilingBufferEntries: number },
    ): { ok(): boolean; errorMessage(): string; value(): WasmModelRunner; delete(): void };
  };
}

/** Settings an emscripten factory takes; `wasmBinary` or `locateFile` say where the .wasm is. */
export interface TfliteModuleSettings {
  wasmBinary?: Uint8Array | ArrayBuffer;
  locateFile?: (file: string, prefix: string) => string;
  print?: (line: string) => void;
  printErr?: (line: string) => void;
}

/** The default export of `@tensorflow/tfjs-tflite/wasm/tflite_web_api_cc_simd.js` (or another build of it). */
export type TfliteModuleFactory = (settings: TfliteModuleSettings) => Promise<TfliteWasmModule>;

/** Where the interpreter's wasm build comes from. */
export interface TfliteWasmSource {
  /**
   * The emscripten factory. Default (Node): `tflite_web_api_cc_simd.js` (or `tflite_web_api_cc.js`
   * when `simd` is false) from the installed `@tensorflow/tfjs-tflite`. In a browser, load that
   * script (it defines `globalThis.tflite_web_api_ModuleFactory`) or import it through your
   * bundler, and pass the factory here.
   */
  factory?: TfliteModuleFactory;
  /** The matching `.wasm` bytes. Default (Node): read beside the factory's script. */
  wasmBinary?: Uint8Array | ArrayBuffer;
  /** Or, in a browser, the URL the `.wasm` file is served from (used when `wasmBinary` is not given). */
  wasmUrl?: string;
  /** Use the WebAssembly SIMD build (default true; every current browser and Node has SIMD). */
  simd?: boolean;
}

/** Lines the interpreter printed, kept so that a failure can say what TFLite said. */
export class InterpreterLog {
  private lines: string[] = [];

  readonly sink = (line: string): void => {
    // XNNPACK's "Created delegate" notice is not news; everything else may explain a failure.
    if (!/^INFO: Created TensorFlow Lite XNNPACK delegate/.test(line)) this.lines.push(line);
    if (this.lines.length > 200) this.lines.shift();
  };

  /** The lines printed since the last call. */
  take(): string[] {
    const out = this.lines;
    this.lines = [];
    return out;
  }
}

async function nodeDefaults(simd: boolean): Promise<{ factory: TfliteModuleFactory; wasmBinary: Uint8Array }> {
  const { createRequire } = await import('node:module');
  const fs = await import('node:fs');
  const require = createRequire(import.meta.url);
  const base = simd ? 'tflite_web_api_cc_simd' : 'tflite_web_api_cc';
  const script = require.resolve(`@tensorflow/tfjs-tflite/wasm/${base}.js`);
  return {
    factory: require(script) as TfliteModuleFactory,
    wasmBinary: new Uint8Array(fs.readFileSync(script.replace(/\.js$/, '.wasm'))),
  };
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && !('document' in globalThis);

/**
 * Instantiate TFLite's interpreter (one wasm instance; sessions share it). Output the
 * interpreter prints goes to `log` rather than the console.
 */
export async function loadTfliteWasm(source: TfliteWasmSource, log: InterpreterLog): Promise<TfliteWasmModule> {
  const simd = source.simd ?? true;
  let factory = source.factory;
  let wasmBinary = source.wasmBinary;
  if (!factory && isNode) {
    const defaults = await nodeDefaults(simd);
    factory = defaults.factory;
    wasmBinary ??= defaults.wasmBinary;
  }
  factory ??= (globalThis as { tflite_web_api_ModuleFactory?: TfliteModuleFactory }).tflite_web_api_ModuleFactory;
  if (!factory)
    throw new BackendError(
      "TFLite's wasm interpreter was not given: in a browser, load @tensorflow/tfjs-tflite/wasm/tflite_web_api_cc_simd.js (or import it) and pass its factory as `wasm.factory`, with `wasm.wasmUrl` or `wasm.wasmBinary` for the .wasm file",
      { backend: 'tflite' },
    );
  const settings: TfliteModuleSettings = { print: log.sink, printErr: log.sink };
  if (wasmBinary) settings.wasmBinary = wasmBinary;
  else if (source.wasmUrl) settings.locateFile = () => source.wasmUrl!;
  try {
    return await factory(settings);
  } catch (e) {
    throw new BackendError(`TFLite's wasm interpreter failed to start: ${(e as Error).message ?? String(e)}`, {
      backend: 'tflite',
      cause: e,
    });
  }
}
