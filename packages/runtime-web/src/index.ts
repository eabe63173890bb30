/**
 * @edgeml/runtime-web: the onnxruntime-web Backend (wasm with SIMD and threads; webgpu and
 * webnn where the browser has them), for browsers and Node.
 *
 * ```ts
 * import { WebBackend, registerWebBackend } from '@edgeml/runtime-web';
 * registerWebBackend({ wasmPaths: '/ort/' }); // or use new WebBackend({ ... }) directly
 * ```
 * @module
 */
import { registerBackend } from '@edgeml/core';
import { WebBackend, type WebBackendOptions } from './web-backend.js';

export {
  WebBackend,
  availableWebExecutionProviders,
  MAX_WEB_MODEL_BYTES,
  type WebBackendOptions,
} from './web-backend.js';
export { toWebTensor } from './tensor-bridge.js';

/** Register onnxruntime-web in the process-wide registry (explicit, never on import). */
export function registerWebBackend(options: WebBackendOptions = {}, priority = 50): void {
  registerBackend('onnxruntime-web', () => new WebBackend(options), priority);
}
