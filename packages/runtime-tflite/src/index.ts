/**
 * @edgeml/runtime-tflite: the {@link @edgeml/core!index.Backend | Backend} that runs .tflite
 * models on TensorFlow Lite's own interpreter compiled to WebAssembly (the build that
 * `@tensorflow/tfjs-tflite` ships, XNNPACK included), in Node and in browsers. Sessions report
 * each input's and output's name, dtype, shape and, for quantized integer tensors, the scale
 * and zero point; every failure is a typed error naming the file or input.
 *
 * ```ts
 * import { Tensor, resolveBackend } from '@edgeml/core';
 * import { TfliteBackend, registerTfliteBackend, quantizeTensor } from '@edgeml/runtime-tflite';
 *
 * const backend = new TfliteBackend();
 * const session = await backend.createSession('model.tflite');
 * const [input] = session.inputs;
 * const x = Tensor.from('float32', [1, 16, 96], new Float32Array(1536));
 * // An int8 input takes quantized values: quantize with the model's own parameters.
 * const dtype = input.type?.kind === 'tensor' ? input.type.dtype : undefined;
 * const feed = input.quantization && dtype ? quantizeTensor(x, dtype, input.quantization) : x;
 * const outputs = await session.run({ [input.name]: feed });
 * await session.dispose();
 *
 * registerTfliteBackend(); // explicit, never on import
 * const resolved = await resolveBackend('tflite');
 * ```
 *
 * In a browser, give the backend the interpreter's files: load
 * `@tensorflow/tfjs-tflite/wasm/tflite_web_api_cc_simd.js` (it defines
 * `tflite_web_api_ModuleFactory`) and serve `tflite_web_api_cc_simd.wasm` beside your page, then
 * `new TfliteBackend({ wasm: { factory: tflite_web_api_ModuleFactory, wasmUrl: '/tflite_web_api_cc_simd.wasm' } })`.
 *
 * Guide: [run .tflite models](../../../docs/guide.md#run-tflite-models).
 * @module
 */
import { registerBackend } from '@edgeml/core';
import { TfliteBackend } from './tflite-backend.js';

export { TfliteBackend, TFJS_TFLITE_VERSION, type TfliteBackendOptions } from './tflite-backend.js';
export { TfliteSession, WEB_API_DTYPES, type TfliteValueInfo } from './tflite-session.js';
export {
  readTfliteHeader,
  hasTfliteIdentifier,
  TFLITE_FILE_IDENTIFIER,
  TFLITE_TENSOR_TYPES,
  type TfliteHeader,
  type TfliteTensorHeader,
  type TfliteQuantization,
} from './tflite-header.js';
export { quantizeTensor, dequantizeTensor } from './quantization.js';
export type {
  TfliteWasmSource,
  TfliteModuleFactory,
  TfliteModuleSettings,
  TfliteWasmModule,
  WasmModelRunner,
  WasmTensorInfo,
  WasmVector,
} from './wasm-interpreter.js';

/** Register the TFLite backend as `'tflite'` in the process-wide registry (explicit, never on import). */
export function registerTfliteBackend(priority = 10): void {
  registerBackend('tflite', () => new TfliteBackend(), priority);
}
