import { tf } from './tf.js';
import { convBackward, convForward, convGeometry } from './conv-kernels.js';

/** Conv attributes as ONNX states them (pads: top, left, bottom, right). */
export interface Conv2dAttributes {
  group: number;
  strides: [number, number];
  dilations: [number, number];
  pads: [number, number, number, number];
  /** False when x needs no gradient (model input data): its backward pass is skipped. */
  inputGradient?: boolean;
}

const f32 = (t: tf.Tensor) => t.dataSync() as Float32Array;

/**
 * ONNX Conv on NCHW tensors as a differentiable tfjs op, forward and gradients by the
 * im2col + GEMM kernels (conv-kernels.ts).
 *
 * @example
 * ```ts
 * const y = conv2dNchw(x, w, b, { group: 1, strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1] });
 * ```
 */
export function conv2dNchw(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | undefined, attrs: Conv2dAttributes): tf.Tensor4D {
  const bias = b ?? tf.zeros([w.shape[0]]) as tf.Tensor1D;
  const op = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
    const g = convGeometry(xi.shape, wi.shape, attrs.group, attrs.strides, attrs.dilations, attrs.pads);
    const y = tf.tensor4d(convForward(f32(xi), f32(wi), b ? f32(bi) : undefined, g), [g.N, g.M, g.OH, g.OW]);
    save([xi, wi]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const { dx, dw, db } = convBackward(f32(saved[0]), f32(saved[1]), f32(dy), g, attrs.inputGradient ?? true);
        return [dx ? tf.tensor(dx, saved[0].shape) : tf.zerosLike(saved[0]), tf.tensor(dw, saved[1].shape), tf.tensor1d(db)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, w, bias) as tf.Tensor4D;
}
