/**
 * @edgeml/runtime-ort: what EdgeML's two onnxruntime backends (@edgeml/runtime-node and
 * @edgeml/runtime-web) share, so that core names no runtime: a core Session over an
 * onnxruntime InferenceSession, zero-copy tensor conversion and the element types onnxruntime's
 * JavaScript API carries, core's session options in onnxruntime's terms, one execution-provider
 * fallback, missing kernels as UnsupportedOpErrors, and the test cases onnxruntime is known to
 * answer differently. Types come from onnxruntime-common; each backend passes in its runtime's
 * own `Tensor` and `InferenceSession`, so this package loads no runtime itself.
 *
 * @example
 * ```ts
 * import * as ort from 'onnxruntime-node';
 * import { OrtSessionAdapter, createSessionWithFallback, ortSessionOptions, ortTensorConverter } from '@edgeml/runtime-ort';
 *
 * const toRuntime = ortTensorConverter('my-ort-backend', ort.Tensor);
 * const { session, executionProviders, skippedExecutionProviders } = await createSessionWithFallback({
 *   backend: 'my-ort-backend',
 *   model: 'model.onnx',
 *   requested: ['cuda', 'cpu'],
 *   available: ['cpu'],
 *   unavailableReason: 'not available in this build (available: cpu)',
 *   lastResort: 'cpu',
 *   chain: true,
 *   create: (providers) =>
 *     ort.InferenceSession.create('model.onnx', { ...ortSessionOptions({ intraOpThreads: 1 }), executionProviders: providers }),
 * });
 * const edgemlSession = new OrtSessionAdapter(session, { backend: 'my-ort-backend', toRuntime, executionProviders, skippedExecutionProviders });
 * ```
 *
 * Guide: [run](../../../docs/guide.md#run), and the end of
 * [run in a browser](../../../docs/guide.md#run-in-a-browser-or-on-wasm-in-node): what the two
 * backends share, and the conformance suite every backend runs.
 * @module
 */
export { OrtSessionAdapter, type OrtSessionAdapterOptions, type SkippedExecutionProvider } from './session-adapter.js';
export { ORT_JS_TYPES, ortTensorConverter, tensorFromOrt, type OrtTensorConverter } from './tensor-conversion.js';
export { missingKernelError, type ModelForLookup } from './missing-kernel.js';
export {
  createSessionWithFallback,
  type ExecutionProviderFallbackOptions,
  type ExecutionProviderFallbackResult,
} from './execution-providers.js';
export { ortSessionOptions } from './session-options.js';
export { ONNXRUNTIME_KNOWN_DISAGREEMENTS } from './known-disagreements.js';
