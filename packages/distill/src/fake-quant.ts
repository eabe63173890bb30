/**
 * QuantizeLinear and DequantizeLinear on the trainable executor: the forward pass computes what
 * onnxruntime does (x / scale rounded half to even, plus the zero point, saturated to the
 * integer type; then (q − zero point) · scale), and the backward pass treats the rounding as
 * the identity (the straight-through estimator). The saturation keeps its true gradient, zero
 * outside the range: the clipped STE of Bengio et al. and of torch.ao's FakeQuantize. Through
 * the scale the same formulas give LSQ's gradient (Esser et al., 2020): round(x/s) − x/s inside
 * the range, qmin − z or qmax − z outside, times LSQ's gradient scale g = 1/√(N·Qp) (N the
 * elements one scale value quantizes — per sample for activations —, Qp = qmax − z the positive
 * levels), which keeps a step size's updates in proportion to the step size however large the
 * tensor (section 2.2 of the paper; torch.ao's `_LearnableFakeQuantize` with `use_grad_scaling`).
 * Only learned scales see it: the gradient of a fixed scale is never read.
 */
import { UnsupportedOpError, roundHalfEven, type DType } from '@edgeml/core';
import { tf } from './tf.js';
import type { OpContext, TfOp } from './op-context.js';

/** The integer range of each type ONNX Q/DQ take (QuantizeLinear saturates to the full range). */
const RANGES: Partial<Record<DType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  uint16: [0, 65535],
  int16: [-32768, 32767],
  uint4: [0, 15],
  int4: [-8, 7],
  int32: [-2147483648, 2147483647],
};

/** ONNX TensorProto element type numbers of `output_dtype` (opset 21), for a QuantizeLinear with no zero point. */
const OUTPUT_DTYPES: Record<number, DType> = {
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  21: 'uint4',
  22: 'int4',
};

/** The integer type a QuantizeLinear produces: its zero point's, else `output_dtype`, else uint8. */
export function quantizedTypeOf(c: OpContext): DType {
  const zeroPoint = c.node.inputs[2];
  const declared = zeroPoint?.const?.dtype ?? zeroPoint?.dtype;
  if (declared) return declared;
  return OUTPUT_DTYPES[c.node.attr('output_dtype', 'int', 0)] ?? 'uint8';
}

function rangeOf(c: OpContext, type: DType): [number, number] {
  const range = RANGES[type];
  if (!range)
    throw new UnsupportedOpError(
      c.node.opType,
      '',
      c.opset,
      `node '${c.node.name}': fake quantization to ${type} is not supported (uint8, int8, uint16, int16, uint4, int4, int32 are)`,
      c.node.name,
    );
  return range;
}

/** How a Q/DQ's parameters lay over its input: per tensor, or one per channel along `axis`. */
interface QuantLayout {
  channels: number;
  /** Elements per channel run (the product of the dimensions after the axis). */
  inner: number;
}

function layoutOf(c: OpContext, x: tf.Tensor, scale: tf.Tensor): QuantLayout {
  if (scale.size === 1) return { channels: 1, inner: x.size };
  if (c.node.attr('block_size', 'int', 0) > 0)
    throw new UnsupportedOpError(
      c.node.opType,
      '',
      c.opset,
      `node '${c.node.name}': blocked quantization (block_size) has no trainable form here; quantize per channel`,
      c.node.name,
    );
  const axis = c.node.attr('axis', 'int', 1);
  const a = axis < 0 ? axis + x.rank : axis;
  return { channels: scale.size, inner: x.shape.slice(a + 1).reduce((p, d) => p * d, 1) };
}

/** Visit every element with its channel: `f(i, channel)`, in memory order. */
function eachElement(size: number, { channels, inner }: QuantLayout, f: (i: number, channel: number) => void): void {
  for (let base = 0, ch = 0; base < size; base += inner, ch = (ch + 1) % channels)
    for (let i = base; i < base + inner; i++) f(i, ch);
}

const zeroPointsOf = (c: OpContext, channels: number): Float32Array =>
  c.inputs[2] ? Float32Array.from(c.inputs[2].dataSync() as ArrayLike<number>) : new Float32Array(channels);

/**
 * Whether the tensor a Q/DQ pair quantizes is an activation (a batch along axis 0) rather than a
 * weight: a weight is an initializer, quantized directly or through the QuantizeLinear before it.
 */
function quantizesActivation(c: OpContext): boolean {
  const x = c.node.inputs[0];
  if (!x || x.const) return false;
  const q = c.node.opType === 'DequantizeLinear' ? x.producer() : undefined;
  return !(q?.opType === 'QuantizeLinear' && q.inputs[0]?.const);
}

/**
 * LSQ's gradient scale per channel, g = 1/√(N·Qp): N the elements one scale value covers (per
 * sample for an activation, whose loss is a batch mean), Qp = qmax − z (at least 1).
 */
function lsqGradientScale(c: OpContext, x: tf.Tensor, layout: QuantLayout, zero: Float32Array, qmax: number) {
  const batch = quantizesActivation(c) && x.rank > 1 ? x.shape[0] : 1;
  const elements = x.size / layout.channels / batch;
  return Float32Array.from(
    { length: layout.channels },
    (_, ch) => 1 / Math.sqrt(elements * Math.max(1, qmax - zero[ch])),
  );
}

/** The integer type a DequantizeLinear reads: its zero point's, else what the QuantizeLinear before it writes. */
function dequantizedTypeOf(c: OpContext): DType {
  const declared = c.node.inputs[2]?.const?.dtype ?? c.node.inputs[2]?.dtype ?? c.node.inputs[0]?.const?.dtype;
  if (declared) return declared;
  const q = c.node.inputs[0]?.producer();
  if (q?.opType === 'QuantizeLinear') return quantizedTypeOf({ ...c, node: q });
  return c.node.inputs[0]?.dtype ?? 'uint8';
}

/**
 * QuantizeLinear: the integers, held in float32 (tfjs has no int8), in one pass over the data.
 * Backward: ∂q/∂x = 1/s inside the range (rounding passes straight through), ∂q/∂s = −x/s² · g
 * inside (g: LSQ's gradient scale); both 0 where the value saturated.
 */
export const quantizeLinear: TfOp = (c) => {
  const [qmin, qmax] = rangeOf(c, quantizedTypeOf(c));
  const x = c.input(0);
  const layout = layoutOf(c, x, c.input(1));
  const zero = zeroPointsOf(c, layout.channels);
  const lsq = lsqGradientScale(c, x, layout, zero, qmax);
  const fake = tf.customGrad(((input: tf.Tensor, scale: tf.Tensor, save: tf.GradSaveFunc) => {
    const xs = input.dataSync() as Float32Array;
    const ss = scale.dataSync() as Float32Array;
    const q = new Float32Array(xs.length);
    eachElement(xs.length, layout, (i, ch) => {
      // In float32, as onnxruntime divides, then half to even.
      q[i] = Math.min(qmax, Math.max(qmin, roundHalfEven(Math.fround(xs[i] / ss[ch])) + zero[ch]));
    });
    const value = tf.tensor(q, input.shape, 'float32');
    save([input, scale, value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xt, st, qt] = saved;
        const g = (dy as tf.Tensor).dataSync() as Float32Array;
        const [xv, sv, qv] = [xt.dataSync(), st.dataSync(), qt.dataSync()] as Float32Array[];
        const dx = new Float32Array(g.length);
        const ds = new Float32Array(sv.length);
        eachElement(g.length, layout, (i, ch) => {
          if (qv[i] <= qmin || qv[i] >= qmax) {
            // Saturated: no gradient, unless the value sits exactly on the last level.
            // The quotient the forward pass rounded (float32), so a value on a saturation point is judged alike.
            const inside = Math.fround(xv[i] / sv[ch]) + zero[ch];
            if (inside < qmin || inside > qmax) return;
          }
          dx[i] = g[i] / sv[ch];
          ds[ch] -= (lsq[ch] * g[i] * xv[i]) / (sv[ch] * sv[ch]);
        });
        return [tf.tensor(dx, xt.shape, 'float32'), tf.tensor(ds, st.shape, 'float32')];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return [fake(x, c.input(1))];
};

/** DequantizeLinear: (q − z) · s in one pass; ∂y/∂q = s, ∂y/∂s = (q − z) · g (LSQ's gradient scale). */
export const dequantizeLinear: TfOp = (c) => {
  const x = c.input(0);
  const layout = layoutOf(c, x, c.input(1));
  const zero = zeroPointsOf(c, layout.channels);
  const lsq = lsqGradientScale(c, x, layout, zero, rangeOf(c, dequantizedTypeOf(c))[1]);
  const real = tf.customGrad(((input: tf.Tensor, scale: tf.Tensor, save: tf.GradSaveFunc) => {
    const qs = input.dataSync() as ArrayLike<number>;
    const ss = scale.dataSync() as Float32Array;
    const y = new Float32Array(qs.length);
    eachElement(qs.length, layout, (i, ch) => (y[i] = (qs[i] - zero[ch]) * ss[ch]));
    save([input, scale]);
    return {
      value: tf.tensor(y, input.shape, 'float32'),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [qt, st] = saved;
        const g = (dy as tf.Tensor).dataSync() as Float32Array;
        const qv = qt.dataSync() as ArrayLike<number>;
        const sv = st.dataSync() as Float32Array;
        const dq = new Float32Array(g.length);
        const ds = new Float32Array(sv.length);
        eachElement(g.length, layout, (i, ch) => {
          dq[i] = g[i] * sv[ch];
          ds[ch] += lsq[ch] * g[i] * (qv[i] - zero[ch]);
        });
        return [tf.tensor(dq, qt.shape, qt.dtype), tf.tensor(ds, st.shape, 'float32')];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return [real(x, c.input(1))];
};
