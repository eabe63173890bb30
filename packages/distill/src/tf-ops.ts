/**
 * ONNX ops on tfjs-core for the trainable executor: forward semantics as the ONNX spec states
 * them (checked against onnxruntime, op by op, in the tests), gradients from tfjs or from this
 * package's NCHW kernels.
 */
import { UnsupportedOpError, type OpName } from '@edgeml/core';
import { tf } from './tf.js';
import { conv2dNchw, convTranspose2dNchw } from './conv-op.js';
import { matMul2d } from './matmul-op.js';
import { batchNormTrainNchw } from './batchnorm-op.js';
import { avgPool2dNchw, maxPool2dNchw, type Pool2dAttributes } from './pool-ops.js';
import { alongAxis, axisOf, type OpContext, type TfOp } from './op-context.js';
import { dequantizeLinear, quantizeLinear } from './fake-quant.js';

const unary =
  (f: (x: tf.Tensor) => tf.Tensor): TfOp =>
  (c) => [f(c.input(0))];
const binary =
  (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): TfOp =>
  (c) => [f(c.input(0), c.input(1))];

function spatial(c: OpContext, name: string, fallback: number): [number, number] {
  const v = c.node.attr(name, 'ints');
  return v ? [v[0], v[1] ?? v[0]] : [fallback, fallback];
}

/** ONNX pads [top, left, bottom, right] from `pads` or `auto_pad`. */
function pads2d(
  c: OpContext,
  inH: number,
  inW: number,
  kH: number,
  kW: number,
  strides: [number, number],
  dilations: [number, number],
): [number, number, number, number] {
  const auto = c.node.attr('auto_pad', 'string', 'NOTSET');
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const total = (size: number, k: number, s: number, d: number) =>
      Math.max(0, (Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size);
    const th = total(inH, kH, strides[0], dilations[0]),
      tw = total(inW, kW, strides[1], dilations[1]);
    const lowH = auto === 'SAME_UPPER' ? Math.floor(th / 2) : Math.ceil(th / 2),
      lowW = auto === 'SAME_UPPER' ? Math.floor(tw / 2) : Math.ceil(tw / 2);
    return [lowH, lowW, th - lowH, tw - lowW];
  }
  if (auto === 'VALID') return [0, 0, 0, 0];
  const p = c.node.attr('pads', 'ints') ?? [0, 0, 0, 0];
  return [p[0], p[1], p[2], p[3]];
}

/** Run a 2-D op on 3-D (N, C, L) input as (N, C, 1, L). */
function as4d(x: tf.Tensor, f: (t: tf.Tensor4D) => tf.Tensor): tf.Tensor {
  if (x.rank === 4) return f(x as tf.Tensor4D);
  if (x.rank === 3) {
    const y = f(tf.expandDims<tf.Tensor4D>(x, 2));
    return tf.squeeze(y, [2]);
  }
  throw new UnsupportedOpError(
    'Conv',
    '',
    undefined,
    `only 1-D and 2-D convolutions and pools are supported, got rank ${x.rank}`,
  );
}

const conv: TfOp = (c) => {
  const x = c.input(0),
    w = c.input(1),
    b = c.inputs[2];
  return [
    as4d(x, (x4) => {
      const w4 = (w.rank === 4 ? w : tf.expandDims(w, 2)) as tf.Tensor4D;
      const strides = x.rank === 3 ? ([1, spatial(c, 'strides', 1)[0]] as [number, number]) : spatial(c, 'strides', 1);
      const dilations =
        x.rank === 3 ? ([1, spatial(c, 'dilations', 1)[0]] as [number, number]) : spatial(c, 'dilations', 1);
      let pads = pads2d(c, x4.shape[2], x4.shape[3], w4.shape[2], w4.shape[3], strides, dilations);
      if (x.rank === 3) {
        const p = c.node.attr('pads', 'ints');
        pads = p ? [0, p[0], 0, p[1]] : [0, pads[1], 0, pads[3]];
      }
      return conv2dNchw(x4, w4, b as tf.Tensor1D | undefined, {
        group: c.node.attr('group', 'int', 1),
        strides,
        dilations,
        pads,
        inputGradient: !c.isData(0),
      });
    }),
  ];
};

const convTranspose: TfOp = (c) => {
  const x = c.input(0),
    w = c.input(1);
  if (x.rank !== 4)
    throw new UnsupportedOpError(
      'ConvTranspose',
      '',
      c.opset,
      `only 2-D transposed convolutions are supported, got rank ${x.rank}`,
      c.node.name,
    );
  if (c.node.attr('output_shape', 'ints'))
    throw new UnsupportedOpError(
      'ConvTranspose',
      '',
      c.opset,
      'ConvTranspose with output_shape is not supported; give pads and output_padding',
      c.node.name,
    );
  const auto = c.node.attr('auto_pad', 'string', 'NOTSET');
  if (auto !== 'NOTSET' && auto !== 'VALID')
    throw new UnsupportedOpError(
      'ConvTranspose',
      '',
      c.opset,
      `ConvTranspose auto_pad ${auto} is not supported; give explicit pads`,
      c.node.name,
    );
  const p = auto === 'VALID' ? [0, 0, 0, 0] : (c.node.attr('pads', 'ints') ?? [0, 0, 0, 0]);
  const op = c.node.attr('output_padding', 'ints') ?? [0, 0];
  return [
    convTranspose2dNchw(x as tf.Tensor4D, w as tf.Tensor4D, c.inputs[2] as tf.Tensor1D | undefined, {
      group: c.node.attr('group', 'int', 1),
      strides: spatial(c, 'strides', 1),
      dilations: spatial(c, 'dilations', 1),
      pads: [p[0], p[1], p[2], p[3]],
      outputPadding: [op[0], op[1]],
    }),
  ];
};

function pool(kind: 'max' | 'avg'): TfOp {
  return (c) => [
    as4d(c.input(0), (x) => {
      const k = c.node.attr('kernel_shape', 'ints')!;
      const kernel: [number, number] = x.rank === 4 && k.length === 1 ? [1, k[0]] : [k[0], k[1] ?? k[0]];
      const strides = spatial(c, 'strides', 1);
      const a: Pool2dAttributes = {
        kernel,
        strides: k.length === 1 ? [1, strides[0]] : strides,
        pads: pads2d(c, x.shape[2], x.shape[3], kernel[0], kernel[1], strides, [1, 1]),
        ceilMode: c.node.attr('ceil_mode', 'int', 0) === 1,
        countIncludePad: c.node.attr('count_include_pad', 'int', 0) === 1,
      };
      if (k.length === 1) {
        const p = c.node.attr('pads', 'ints');
        a.pads = p ? [0, p[0], 0, p[1]] : [0, 0, 0, 0];
      }
      return kind === 'max' ? maxPool2dNchw(x, a) : avgPool2dNchw(x, a);
    }),
  ];
}

/** Reduction axes: attribute (older opsets) or second input; none means all (unless noop_with_empty_axes). */
function reduceAxes(c: OpContext, x: tf.Tensor): number[] | undefined {
  const axes = c.node.attr('axes', 'ints') ?? c.ints(1);
  if (!axes?.length) return c.node.attr('noop_with_empty_axes', 'int', 0) ? [] : undefined;
  return axes.map((a) => axisOf(a, x.rank, c));
}

function reshapeTo(c: OpContext, x: tf.Tensor, shape: number[]): tf.Tensor {
  const allowZero = c.node.attr('allowzero', 'int', 0) === 1;
  return tf.reshape(
    x,
    shape.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d)),
  );
}

const batchNorm: TfOp = (c) => {
  const [x, scale, bias, mean, variance] = [c.input(0), c.input(1), c.input(2), c.input(3), c.input(4)];
  const eps = c.node.attr('epsilon', 'float', 1e-5);
  const bshape: number[] = [1, x.shape[1] as number, ...Array<number>(x.rank - 2).fill(1)];
  const r = (t: tf.Tensor) => tf.reshape(t, bshape);
  const stats = c.training ? c.runningStats(c.node) : undefined;
  if (!stats) return [tf.add(tf.mul(tf.div(tf.sub(x, r(mean)), tf.sqrt(tf.add(r(variance), eps))), r(scale)), r(bias))];
  const {
    y,
    mean: batchMean,
    variance: batchVariance,
  } = batchNormTrainNchw(x, scale as tf.Tensor1D, bias as tf.Tensor1D, eps);
  const count = x.size / (x.shape[1] ?? 1);
  const momentum = c.node.attr('momentum', 'float', 0.9);
  // Running statistics as PyTorch keeps them: the unbiased batch variance, and no gradient.
  tf.tidy(() => {
    stats.mean.assign(tf.add(tf.mul(stats.mean, momentum), tf.mul(tf.tensor1d(batchMean), 1 - momentum)));
    stats.variance.assign(
      tf.add(
        tf.mul(stats.variance, momentum),
        tf.mul(tf.tensor1d(batchVariance), ((1 - momentum) * count) / Math.max(1, count - 1)),
      ),
    );
  });
  return [y];
};

const layerNorm: TfOp = (c) => {
  const x = c.input(0);
  const axis = axisOf(c.node.attr('axis', 'int', -1), x.rank, c);
  const axes = Array.from({ length: x.rank - axis }, (_, i) => axis + i);
  const m = tf.moments(x, axes, true);
  let y = tf.div(tf.sub(x, m.mean), tf.sqrt(tf.add(m.variance, c.node.attr('epsilon', 'float', 1e-5))));
  y = tf.mul(y, c.input(1));
  return [c.inputs[2] ? tf.add(y, c.inputs[2]) : y];
};

const softmaxLike =
  (f: (t: tf.Tensor) => tf.Tensor): TfOp =>
  (c) => {
    const x = c.input(0);
    const axis = axisOf(c.node.attr('axis', 'int', c.opset >= 13 ? -1 : 1), x.rank, c);
    if (c.opset >= 13) return [alongAxis(x, axis, f)];
    // Before opset 13: the input is coerced to 2-D at `axis` and normalised over the second part.
    const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    return [tf.reshape(f(tf.reshape(x, [outer, x.size / outer])), x.shape)];
  };

const hardSigmoid = (x: tf.Tensor, alpha: number, beta: number) => tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);

const slice: TfOp = (c) => {
  const x = c.input(0);
  const starts = c.ints(1) ?? c.node.attr('starts', 'ints')!;
  const ends = c.ints(2) ?? c.node.attr('ends', 'ints')!;
  const axes = (c.ints(3) ?? c.node.attr('axes', 'ints') ?? starts.map((_, i) => i)).map((a) => axisOf(a, x.rank, c));
  const steps = c.ints(4) ?? axes.map(() => 1);
  const begin = x.shape.map(() => 0),
    end = [...x.shape],
    strides = x.shape.map(() => 1);
  axes.forEach((a, i) => {
    const dim = x.shape[a],
      step = steps[i];
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
    begin[a] = step > 0 ? clamp(starts[i], 0, dim) : clamp(starts[i], -1, dim - 1);
    end[a] = step > 0 ? clamp(ends[i], 0, dim) : clamp(ends[i], -1, dim - 1);
    strides[a] = step;
  });
  if (strides.every((s) => s === 1))
    return [
      tf.slice(
        x,
        begin,
        end.map((e, i) => Math.max(0, e - begin[i])),
      ),
    ];
  return [
    tf.stridedSlice(
      x,
      begin,
      end.map((e, i) => (e === -1 && strides[i] < 0 ? -x.shape[i] - 1 : e)),
      strides,
    ),
  ];
};

const split: TfOp = (c) => {
  const x = c.input(0);
  const axis = axisOf(c.node.attr('axis', 'int', 0), x.rank, c);
  let sizes = c.ints(1) ?? c.node.attr('split', 'ints');
  if (!sizes) {
    const n = c.node.attr('num_outputs', 'int', c.node.outputs.length);
    const each = Math.ceil(x.shape[axis] / n);
    sizes = Array.from({ length: n }, (_, i) => Math.min(each, x.shape[axis] - i * each));
  }
  return tf.split(x, sizes, axis);
};

const pad: TfOp = (c) => {
  const x = c.input(0);
  const p = c.ints(1) ?? c.node.attr('pads', 'ints')!;
  const value = c.floats(2)?.[0] ?? c.node.attr('value', 'float', 0);
  const axes = (c.ints(3) ?? x.shape.map((_, i) => i)).map((a) => axisOf(a, x.rank, c));
  const pairs: [number, number][] = x.shape.map(() => [0, 0]);
  axes.forEach((a, i) => {
    pairs[a] = [p[i], p[i + axes.length]];
  });
  const mode = c.node.attr('mode', 'string', 'constant');
  if (mode === 'constant') return [tf.pad(x, pairs, value)];
  if (mode === 'reflect') return [tf.mirrorPad(x, pairs, 'reflect')];
  throw new UnsupportedOpError(
    'Pad',
    '',
    c.opset,
    `Pad mode '${mode}' has no trainable form here (constant and reflect do)`,
    c.node.name,
  );
};

const castTo = (to: number) =>
  to === 1 || to === 10 || to === 11 || to === 16 ? 'float32' : to === 9 ? 'bool' : 'int32';

/** Every op the executor runs, by ONNX op type (default domain). */
export const TF_OPS: Partial<Record<OpName, TfOp>> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  Gemm: (c) => {
    const [a, b] = [c.input(0), c.input(1)];
    let y: tf.Tensor = matMul2d(
      a as tf.Tensor2D,
      b as tf.Tensor2D,
      c.node.attr('transA', 'int', 0) === 1,
      c.node.attr('transB', 'int', 0) === 1,
    );
    const alpha = c.node.attr('alpha', 'float', 1);
    if (alpha !== 1) y = tf.mul(y, alpha);
    if (c.inputs[2]) y = tf.add(y, tf.mul(c.inputs[2], c.node.attr('beta', 'float', 1)));
    return [y];
  },
  MatMul: (c) => {
    const [a, b] = [c.input(0), c.input(1)];
    if (a.rank === 1 || b.rank === 1) {
      const y = tf.matMul(a.rank === 1 ? tf.expandDims(a, 0) : a, b.rank === 1 ? tf.expandDims(b, 1) : b);
      return [tf.squeeze(y, [...(a.rank === 1 ? [y.rank - 2] : []), ...(b.rank === 1 ? [y.rank - 1] : [])])];
    }
    return [a.rank === 2 && b.rank === 2 ? matMul2d(a as tf.Tensor2D, b as tf.Tensor2D) : tf.matMul(a, b)];
  },
  Add: binary(tf.add),
  Sub: binary(tf.sub),
  Mul: binary(tf.mul),
  Div: binary(tf.div),
  Pow: binary(tf.pow),
  Sqrt: unary(tf.sqrt),
  Exp: unary(tf.exp),
  Log: unary(tf.log),
  Neg: unary(tf.neg),
  Abs: unary(tf.abs),
  Erf: unary(tf.erf),
  Reciprocal: unary(tf.reciprocal),
  Relu: unary(tf.relu),
  Sigmoid: unary(tf.sigmoid),
  Tanh: unary(tf.tanh),
  LeakyRelu: (c) => [tf.leakyRelu(c.input(0), c.node.attr('alpha', 'float', 0.01))],
  Clip: (c) => {
    const lo = c.floats(1)?.[0] ?? c.node.attr('min', 'float', -Infinity),
      hi = c.floats(2)?.[0] ?? c.node.attr('max', 'float', Infinity);
    return [tf.clipByValue(c.input(0), Math.max(lo, -3.4e38), Math.min(hi, 3.4e38))];
  },
  HardSigmoid: (c) => [hardSigmoid(c.input(0), c.node.attr('alpha', 'float', 0.2), c.node.attr('beta', 'float', 0.5))],
  HardSwish: (c) => [tf.mul(c.input(0), hardSigmoid(c.input(0), 1 / 6, 0.5))],
  Gelu: (c) => {
    const x = c.input(0);
    if (c.node.attr('approximate', 'string', 'none') === 'tanh')
      return [
        tf.mul(
          tf.mul(x, 0.5),
          tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))),
        ),
      ];
    return [tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))))];
  },
  Softmax: softmaxLike((t) => tf.softmax(t)),
  LogSoftmax: softmaxLike((t) => tf.logSoftmax(t)),
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  Dropout: (c) => {
    const x = c.input(0);
    const ratio = c.floats(1)?.[0] ?? c.node.attr('ratio', 'float', 0.5);
    const on = c.training || (c.ints(2)?.[0] ?? 0) === 1;
    return [on && ratio > 0 ? tf.dropout(x, ratio) : x, undefined];
  },
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: (c) => [
    tf.mean(
      c.input(0),
      Array.from({ length: c.input(0).rank - 2 }, (_, i) => i + 2),
      true,
    ),
  ],
  GlobalMaxPool: (c) => [
    tf.max(
      c.input(0),
      Array.from({ length: c.input(0).rank - 2 }, (_, i) => i + 2),
      true,
    ),
  ],
  Reshape: (c) => [reshapeTo(c, c.input(0), c.ints(1) ?? c.node.attr('shape', 'ints')!)],
  Flatten: (c) => {
    const x = c.input(0);
    const axis = c.node.attr('axis', 'int', 1);
    const a = axis < 0 ? axis + x.rank : axis;
    const outer = x.shape.slice(0, a).reduce((p, q) => p * q, 1);
    return [tf.reshape(x, [outer, x.size / Math.max(outer, 1)])];
  },
  Transpose: (c) => [tf.transpose(c.input(0), c.node.attr('perm', 'ints'))],
  Concat: (c) => {
    const xs = c.inputs.filter((t): t is tf.Tensor => !!t && t.size > 0);
    return [tf.concat(xs, axisOf(c.node.attr('axis', 'int', 0), c.input(0).rank, c))];
  },
  Split: split,
  Slice: slice,
  Squeeze: (c) => {
    const x = c.input(0);
    const axes = c.ints(1) ?? c.node.attr('axes', 'ints');
    return [
      tf.squeeze(
        x,
        axes?.map((a) => axisOf(a, x.rank, c)),
      ),
    ];
  },
  Unsqueeze: (c) => {
    const x = c.input(0);
    const axes = c.ints(1) ?? c.node.attr('axes', 'ints')!;
    const rank = x.rank + axes.length;
    const norm = axes.map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
    const shape = [...x.shape];
    for (const a of norm) shape.splice(a, 0, 1);
    return [tf.reshape(x, shape)];
  },
  Pad: pad,
  ReduceMean: (c) => {
    const x = c.input(0);
    const axes = reduceAxes(c, x);
    return [axes?.length === 0 ? x : tf.mean(x, axes, c.node.attr('keepdims', 'int', 1) === 1)];
  },
  ReduceSum: (c) => {
    const x = c.input(0);
    const axes = reduceAxes(c, x);
    return [axes?.length === 0 ? x : tf.sum(x, axes, c.node.attr('keepdims', 'int', 1) === 1)];
  },
  ReduceMax: (c) => {
    const x = c.input(0);
    const axes = reduceAxes(c, x);
    return [axes?.length === 0 ? x : tf.max(x, axes, c.node.attr('keepdims', 'int', 1) === 1)];
  },
  Identity: (c) => [c.input(0)],
  Shape: (c) => {
    const dims = c.input(0).shape;
    const start = c.node.attr('start', 'int', 0),
      end = c.node.attr('end', 'int', dims.length);
    return [
      tf.tensor1d(dims.slice(start < 0 ? start + dims.length : start, end < 0 ? end + dims.length : end), 'int32'),
    ];
  },
  Gather: (c) => {
    const x = c.input(0);
    const axis = axisOf(c.node.attr('axis', 'int', 0), x.rank, c);
    const idx = c.inputs[1]!;
    const fixed = tf.where(tf.less(idx, 0), tf.add(idx, x.shape[axis]), idx);
    return [tf.gather(x, tf.cast(fixed, 'int32'), axis)];
  },
  Cast: (c) => [tf.cast(c.input(0), castTo(c.node.attr('to', 'int', 1)))],
  // Fake quantization with straight-through gradients: a QDQ model trains as it will run.
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
};

/** Ops whose output is a constant attribute value, handled by the executor (Constant). */
export const SOURCE_OPS = new Set(['Constant']);
