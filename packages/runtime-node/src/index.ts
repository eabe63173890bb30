/**
 * @edgeml/runtime-node: the {@link @edgeml/core!index.Backend | Backend} over onnxruntime-node, for
 * Node — CPU binaries bundled in its npm package, other execution providers (CUDA, …) where the
 * platform's build has them, tried in the order you ask with `'cpu'` as the last resort. Tensors
 * pass to and from onnxruntime without copying, and every failure reaches you as a
 * {@link @edgeml/core!index.BackendError | BackendError}.
 *
 * ```ts
 * import { Graph, Model, Tensor, resolveBackend, tensorType } from '@edgeml/core';
 * import { NodeBackend, registerNodeBackend } from '@edgeml/runtime-node';
 *
 * const graph = new Graph('relu');
 * const x = graph.addInput('x', tensorType('float32', [1, 4]));
 * const y = graph.op('Relu', [x], {}, { outputs: ['y'] }).outputs[0];
 * y.type = tensorType('float32', [1, 4]);
 * graph.outputs.push(y);
 *
 * const backend = new NodeBackend();
 * await backend.init(); // fails here, with the reason, if the native binding cannot load
 * const session = await backend.createSession(new Model(graph), {
 *   intraOpThreads: 1,
 *   executionProviders: ['cuda', 'cpu'],
 * });
 * console.log(session.executionProviders, session.skippedExecutionProviders); // which one runs, and why others did not
 * const outputs = await session.run({ x: Tensor.from('float32', [1, 4], [-2, -1, 1, 2]) });
 * console.log(outputs.y.data); // Float32Array [0, 0, 1, 2]
 * await session.dispose();
 *
 * // Registered (explicitly, never on import), it is what code that takes any Backend resolves:
 * registerNodeBackend();
 * const resolved = await resolveBackend('onnxruntime-node');
 * ```
 *
 * Guide: [run](../../../docs/guide.md#run); overhead against bare onnxruntime-node:
 * [benchmarks](../../../docs/benchmarks.md#runtime-node-overhead-benchruntime-overheadmjs).
 * @module
 */
import { registerBackend } from '@edgeml/core';
import { NodeBackend } from './node-backend.js';

export { NodeBackend, availableExecutionProviders, type NodeBackendOptions } from './node-backend.js';
export { detectIntegerKernels } from './integer-kernels.js';
export { toOrtTensor, fromOrtTensor } from './tensor-bridge.js';

/** Register onnxruntime-node in the process-wide registry (explicit, never on import). */
export function registerNodeBackend(priority = 100): void {
  registerBackend('onnxruntime-node', () => new NodeBackend(), priority);
}
