/**
 * ONNX MaxPool and AveragePool on NCHW tensors as differentiable tfjs ops. tfjs pools NHWC
 * only, and the transposes around it plus its generic MaxPool gradient cost more than the
 * convolutions of a small CNN (measured: ~40 % of a training step).
 */
import { tf } from './tf.js';

/** Pool attributes as ONNX states them (pads: top, left, bottom, right). */
export interface Pool2dAttributes {
  kernel: [number, number];
  strides: [number, number];
  pads: [number, number, number, number];
  ceilMode?: boolean;
  /** AveragePool: count padded cells in the divisor (ONNX count_include_pad). */
  countIncludePad?: boolean;
}

function outSize(size: number, k: number, s: number, padBegin: number, padEnd: number, ceil: boolean): number {
  const span = size + padBegin + padEnd - k;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // ONNX/PyTorch: with ceil_mode the last window must start inside the image or the left padding.
  if (ceil && (out - 1) * s >= size + padBegin) out--;
  return out;
}

interface Geometry {
  N: number;
  C: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
}

function geometry(shape: readonly number[], a: Pool2dAttributes): Geometry {
  const [N, C, H, W] = shape;
  return {
    N,
    C,
    H,
    W,
    OH: outSize(H, a.kernel[0], a.strides[0], a.pads[0], a.pads[2], !!a.ceilMode),
    OW: outSize(W, a.kernel[1], a.strides[1], a.pads[1], a.pads[3], !!a.ceilMode),
  };
}

/** Visit each output cell's window (clipped to the image): start/end rows and columns. */
function forEachWindow(
  g: Geometry,
  a: Pool2dAttributes,
  visit: (plane: number, o: number, h0: number, h1: number, w0: number, w1: number, full: number) => void,
): void {
  const [kh, kw] = a.kernel,
    [sh, sw] = a.strides,
    [pt, pl, pb, pr] = a.pads;
  for (let plane = 0; plane < g.N * g.C; plane++) {
    for (let oh = 0; oh < g.OH; oh++) {
      const hs = oh * sh - pt,
        h0 = Math.max(0, hs),
        h1 = Math.min(g.H, hs + kh);
      // The padded window, for count_include_pad: it never extends past the explicit pads.
      const fullH = Math.min(hs + kh, g.H + pb) - hs;
      for (let ow = 0; ow < g.OW; ow++) {
        const ws = ow * sw - pl,
          w0 = Math.max(0, ws),
          w1 = Math.min(g.W, ws + kw);
        const fullW = Math.min(ws + kw, g.W + pr) - ws;
        visit(plane, (plane * g.OH + oh) * g.OW + ow, h0, h1, w0, w1, fullH * fullW);
      }
    }
  }
}

const f32 = (t: tf.Tensor) => t.dataSync() as Float32Array;

/** MaxPool NCHW; the gradient goes to the first maximum of each window, as onnxruntime and PyTorch pick it. */
export function maxPool2dNchw(x: tf.Tensor4D, a: Pool2dAttributes): tf.Tensor4D {
  const op = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const g = geometry(xi.shape, a);
    const src = f32(xi);
    const y = new Float32Array(g.N * g.C * g.OH * g.OW);
    const argmax = new Int32Array(y.length);
    forEachWindow(g, a, (plane, o, h0, h1, w0, w1) => {
      let best = -Infinity,
        at = -1;
      const base = plane * g.H * g.W;
      for (let h = h0; h < h1; h++)
        for (let w = w0; w < w1; w++) {
          const v = src[base + h * g.W + w];
          if (v > best || at < 0) {
            best = v;
            at = base + h * g.W + w;
          }
        }
      y[o] = best;
      argmax[o] = at;
    });
    save([xi]);
    return {
      value: tf.tensor4d(y, [g.N, g.C, g.OH, g.OW]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const d = f32(dy),
          dx = new Float32Array(saved[0].size);
        for (let o = 0; o < d.length; o++) if (argmax[o] >= 0) dx[argmax[o]] += d[o];
        return [tf.tensor(dx, saved[0].shape)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor4D;
}

/** AveragePool NCHW with ONNX's count_include_pad. */
export function avgPool2dNchw(x: tf.Tensor4D, a: Pool2dAttributes): tf.Tensor4D {
  const g = geometry(x.shape, a);
  const divisor = new Float32Array(g.N * g.C * g.OH * g.OW);
  forEachWindow(g, a, (_p, o, h0, h1, w0, w1, full) => {
    divisor[o] = a.countIncludePad ? full : (h1 - h0) * (w1 - w0);
  });
  const op = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const src = f32(xi);
    const y = new Float32Array(divisor.length);
    forEachWindow(g, a, (plane, o, h0, h1, w0, w1) => {
      let s = 0;
      const base = plane * g.H * g.W;
      for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) s += src[base + h * g.W + w];
      y[o] = s / divisor[o];
    });
    save([xi]);
    return {
      value: tf.tensor4d(y, [g.N, g.C, g.OH, g.OW]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const d = f32(dy),
          dx = new Float32Array(saved[0].size);
        forEachWindow(g, a, (plane, o, h0, h1, w0, w1) => {
          const share = d[o] / divisor[o],
            base = plane * g.H * g.W;
          for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) dx[base + h * g.W + w] += share;
        });
        return [tf.tensor(dx, saved[0].shape)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor4D;
}
