/**
 * @edgeml/runtime-web: the {@link @edgeml/core!index.Backend | Backend} over onnxruntime-web, for
 * browsers and Node — wasm (SIMD, threads) everywhere, webgpu and webnn where the browser has
 * them, tried in the order you ask with `'wasm'` as the last resort. The same contract as
 * @edgeml/runtime-node, so code written against a Backend runs on either.
 *
 * ```ts
 * import { Graph, Model, Tensor, tensorType } from '@edgeml/core';
 * import { WebBackend } from '@edgeml/runtime-web';
 *
 * const graph = new Graph('relu');
 * const x = graph.addInput('x', tensorType('float32', [1, 4]));
 * const y = graph.op('Relu', [x], {}, { outputs: ['y'] }).outputs[0];
 * y.type = tensorType('float32', [1, 4]);
 * graph.outputs.push(y);
 *
 * // In a browser, serve onnxruntime-web's dist/ort-wasm-*.wasm and .mjs yourself and pass
 * // `wasmPaths: '/ort/'`; in Node the default (beside the onnxruntime-web module) works.
 * const backend = new WebBackend({ numThreads: 1, executionProviders: ['webgpu', 'wasm'] });
 * await backend.init(); // fails here, clearly, if the wasm files cannot be loaded
 * const session = await backend.createSession(new Model(graph)); // or ONNX bytes, a URL, or (in Node) a path
 * const outputs = await session.run({ x: Tensor.from('float32', [1, 4], [-2, -1, 1, 2]) });
 * console.log(session.executionProviders, outputs.y.data); // [ 'wasm' ] in Node, Float32Array [0, 0, 1, 2]
 * await session.dispose();
 * ```
 *
 * `registerWebBackend(options)` puts it in the process-wide registry for code that resolves
 * backends by name. Guide: [run in a browser](../../../docs/guide.md#run-in-a-browser-or-on-wasm-in-node);
 * wasm against native onnxruntime:
 * [benchmarks](../../../docs/benchmarks.md#onnxruntime-node-vs-onnxruntime-web-wasm-benchruntime-webmjs).
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
