/**
 * TFLite's dynamic-range quantization (TFLiteConverter's `Optimize.DEFAULT` without a
 * representative dataset): the weights of convolutions and fully-connected layers are stored as
 * symmetric int8 with one scale per output channel, activations stay float32, and TFLite runs
 * its hybrid kernels (weights dequantized on the fly, inputs quantized per batch). As the
 * converter, only weights of at least 1024 elements are quantized; biases stay float32.
 */
import type { TfliteGraph } from './tflite-graph.js';
import { TensorType, type BuiltinOperatorName } from './schema.js';

/** Which input of an operator holds its weights, and the axis of its output channels there. */
const WEIGHTS: Partial<Record<BuiltinOperatorName, { input: number; channelAxis: number }>> = {
  CONV_2D: { input: 1, channelAxis: 0 },
  DEPTHWISE_CONV_2D: { input: 1, channelAxis: 3 },
  FULLY_CONNECTED: { input: 1, channelAxis: 0 },
};

/** TFLiteConverter's threshold: smaller weights stay float. */
export const MIN_QUANTIZED_ELEMENTS = 1024;

/** Symmetric int8 of `values` (row-major, `shape`) with one scale per index of `axis`. */
export function quantizePerChannel(values: Float32Array, shape: readonly number[], axis: number) {
  const channels = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => Math.floor(i / inner) % channels;
  const range = new Float64Array(channels);
  values.forEach((v, i) => (range[channelOf(i)] = Math.max(range[channelOf(i)], Math.abs(v))));
  // A channel of zeros keeps scale 1 (any scale represents it exactly; 0 would divide by zero).
  const scale = Array.from(range, (r) => (r > 0 ? r / 127 : 1));
  const q = new Int8Array(values.length);
  values.forEach((v, i) => (q[i] = Math.max(-127, Math.min(127, Math.round(v / scale[channelOf(i)])))));
  return { q, scale };
}

/** Quantize the weights of `graph`'s convolutions and fully-connected layers in place; returns how many. */
export function quantizeWeightsDynamic(graph: TfliteGraph): number {
  const done = new Set<number>();
  for (const op of graph.operators) {
    const spec = WEIGHTS[op.op];
    const index = spec ? op.inputs[spec.input] : undefined;
    if (!spec || index === undefined || done.has(index) || !graph.isConstant(index)) continue;
    const t = graph.tensors[index];
    if (t.type !== TensorType.FLOAT32 || t.shape.reduce((a, b) => a * b, 1) < MIN_QUANTIZED_ELEMENTS) continue;
    const bytes = graph.constantBytes(index);
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : Uint8Array.from(bytes);
    const values = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
    const { q, scale } = quantizePerChannel(values, t.shape, spec.channelAxis);
    graph.replaceConstant(index, new Uint8Array(q.buffer), TensorType.INT8, {
      scale,
      zeroPoint: scale.map(() => 0),
      dimension: spec.channelAxis,
    });
    done.add(index);
    // As TFLiteConverter: the hybrid FULLY_CONNECTED quantizes its input with a zero point, not symmetric.
    if (op.op === 'FULLY_CONNECTED' && op.options) op.options.values.asymmetric_quantize_inputs = true;
  }
  return done.size;
}
