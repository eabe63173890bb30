import { InvalidArgumentError, Tensor, type DType } from '@edgeml/core';
import type { TfliteQuantization } from './tflite-header.js';

const RANGES: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  int32: [-(2 ** 31), 2 ** 31 - 1],
};

/** For element `i` of a tensor of `dims`, the index of its scale and zero point. */
function channelOf(dims: readonly number[], q: TfliteQuantization): (i: number) => number {
  if (q.scale.length === 1) return () => 0;
  if (!(q.axis >= 0 && q.axis < dims.length) || dims[q.axis] !== q.scale.length)
    throw new InvalidArgumentError(
      `per-channel quantization has ${q.scale.length} scales along axis ${q.axis}, but the tensor's shape is [${dims}]`,
      'quantization',
    );
  const inner = dims.slice(q.axis + 1).reduce((a, b) => a * b, 1);
  return (i) => Math.floor(i / inner) % q.scale.length;
}

/**
 * Real values to a quantized model's integers, as TFLite quantizes: `q = clamp(round(x / scale) + zeroPoint)`,
 * rounding half away from zero.
 *
 * @example
 * ```ts
 * const [input] = session.inputs; // int8, quantization { scale: [0.5], zeroPoint: [-1], axis: 0 }
 * const q = quantizeTensor(Tensor.from('float32', [2], [1, -1]), 'int8', input.quantization!); // int8 [1, -3]
 * ```
 */
export function quantizeTensor(values: Tensor, dtype: DType, q: TfliteQuantization): Tensor {
  const range = RANGES[dtype];
  if (!range) throw new InvalidArgumentError(`TFLite quantizes to int8, uint8, int16 or int32, not ${dtype}`, 'dtype');
  const x = values.toFloat64();
  const channel = channelOf(values.dims, q);
  const out = Array.from(x, (v, i) => {
    const c = channel(i);
    const scaled = v / q.scale[c];
    const rounded = Math.sign(scaled) * Math.round(Math.abs(scaled)) + q.zeroPoint[c];
    return Math.min(range[1], Math.max(range[0], rounded));
  });
  return Tensor.from(dtype, values.dims, out);
}

/**
 * A quantized tensor's real values: `scale · (q − zeroPoint)`, as float32.
 *
 * @example
 * ```ts
 * const { Identity } = await session.run(feeds);      // int8 scores
 * const scores = dequantizeTensor(Identity, session.outputs[0].quantization!);
 * ```
 */
export function dequantizeTensor(quantized: Tensor, q: TfliteQuantization): Tensor<'float32'> {
  if (!RANGES[quantized.dtype])
    throw new InvalidArgumentError(`only integer tensors are dequantized, not ${quantized.dtype}`, 'quantized');
  const x = quantized.toFloat64();
  const channel = channelOf(quantized.dims, q);
  const out = Float32Array.from(x, (v, i) => q.scale[channel(i)] * (v - q.zeroPoint[channel(i)]));
  return Tensor.from('float32', quantized.dims, out);
}
