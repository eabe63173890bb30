/**
 * @edgeml/runtime-node: the onnxruntime-node Backend.
 *
 * ```ts
 * import { registerBackend } from '@edgeml/core';
 * import { NodeBackend, registerNodeBackend } from '@edgeml/runtime-node';
 * registerNodeBackend(); // or registerBackend('onnxruntime-node', () => new NodeBackend(), 100)
 * ```
 * @module
 */
import { registerBackend } from '@edgeml/core';
import { NodeBackend } from './node-backend.js';

export { NodeBackend, availableExecutionProviders } from './node-backend.js';
export { toOrtTensor, fromOrtTensor } from './tensor-bridge.js';

/** Register onnxruntime-node in the process-wide registry (explicit, never on import). */
export function registerNodeBackend(priority = 100): void {
  registerBackend('onnxruntime-node', () => new NodeBackend(), priority);
}
