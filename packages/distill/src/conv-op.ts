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
export function conv2dNchw(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D | undefined,
  attrs: Conv2dAttributes,
): tf.Tensor4D {
  const bias = b ?? tf.zeros<tf.Rank.R1>([w.shape[0]]);
  const op = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
    const g = convGeometry(xi.shape, wi.shape, attrs.group, attrs.strides, attrs.dilations, attrs.pads);
    const y = tf.tensor4d(convForward(f32(xi), f32(wi), b ? f32(bi) : undefined, g), [g.N, g.M, g.OH, g.OW]);
    save([xi, wi]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const { dx, dw, db } = convBackward(f32(saved[0]), f32(saved[1]), f32(dy), g, {
          dx: attrs.inputGradient ?? true,
          dw: true,
        });
        return [
          dx ? tf.tensor(dx, saved[0].shape) : tf.zerosLike(saved[0]),
          tf.tensor(dw!, saved[1].shape),
          tf.tensor1d(db),
        ];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, w, bias) as tf.Tensor4D;
}

/** ConvTranspose attributes (pads: top, left, bottom, right; output padding per spatial axis). */
export interface ConvTranspose2dAttributes extends Conv2dAttributes {
  outputPadding: [number, number];
}

/**
 * ONNX ConvTranspose on NCHW tensors: the adjoint of a convolution, computed by the same
 * kernels (its forward is a convolution's input gradient; its gradients are a forward
 * convolution and a filter gradient). Weight layout [C_in, C_out / group, kH, kW].
 */
export function convTranspose2dNchw(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D | undefined,
  attrs: ConvTranspose2dAttributes,
): tf.Tensor4D {
  const [N, C, H, W] = x.shape;
  const [, mg, kH, kW] = w.shape;
  const M = mg * attrs.group;
  const size = (i: number, k: number, s: number, d: number, p0: number, p1: number, op: number) =>
    s * (i - 1) + op + (k - 1) * d + 1 - p0 - p1;
  const OH = size(H, kH, attrs.strides[0], attrs.dilations[0], attrs.pads[0], attrs.pads[2], attrs.outputPadding[0]);
  const OW = size(W, kW, attrs.strides[1], attrs.dilations[1], attrs.pads[1], attrs.pads[3], attrs.outputPadding[1]);
  // The convolution this transposes: [N, M, OH, OW] → [N, C, H, W] with weights [C, M/g, kH, kW].
  const g = {
    ...convGeometry([N, M, OH, OW], [C, mg, kH, kW], attrs.group, attrs.strides, attrs.dilations, attrs.pads),
    OH: H,
    OW: W,
  };
  const bias = b ?? tf.zeros<tf.Rank.R1>([M]);
  const op = tf.customGrad(((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = convBackward(undefined, f32(wi), f32(xi), g, { dx: true, dw: false }).dx!;
    if (b) {
      const bv = f32(bi);
      for (let n = 0; n < N; n++)
        for (let m = 0; m < M; m++) {
          const o = (n * M + m) * OH * OW;
          for (let p = 0; p < OH * OW; p++) y[o + p] += bv[m];
        }
    }
    save([xi, wi]);
    return {
      value: tf.tensor4d(y, [N, M, OH, OW]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const d = f32(dy);
        const dx = convForward(d, f32(saved[1]), undefined, g);
        const { dw } = convBackward(d, f32(saved[1]), f32(saved[0]), g, { dx: false, dw: true });
        const db = new Float32Array(M);
        for (let n = 0; n < N; n++)
          for (let m = 0; m < M; m++) {
            const o = (n * M + m) * OH * OW;
            let s = 0;
            for (let p = 0; p < OH * OW; p++) s += d[o + p];
            db[m] += s;
          }
        return [tf.tensor(dx, saved[0].shape), tf.tensor(dw!, saved[1].shape), tf.tensor1d(db)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, w, bias) as tf.Tensor4D;
}
