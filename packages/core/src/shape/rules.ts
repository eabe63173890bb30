/**
 * Per-operator shape and type rules. A rule sees the input types and any constant input
 * values and returns output types; it never throws for "unknown", only for shapes that
 * cannot work together (ShapeError).
 */
import type { OpName } from '../ops/op-names.js';
import type { Node } from '../ir/node.js';
import type { Dim, TensorType } from '../ir/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { dtypeFromOnnx, type DType } from '../tensor/dtype.js';
import { ShapeError } from '../errors.js';
import { broadcastShapes, isStatic, mulDims, windowOut } from './dims.js';
import { reshapeDims, sliceIndices, squeezeDims, unsqueezeDims } from '../ops/eval.js';
import { opAttributes, type OpAttributes } from '../ops/op-schema.js';

export interface RuleInput {
  node: Node;
  types: (TensorType | undefined)[];
  consts: (Tensor | undefined)[];
  opset: number;
}
export type Rule = (x: RuleInput) => (TensorType | undefined)[];

const T = (dtype: DType | undefined, shape?: Dim[]): TensorType => ({ kind: 'tensor', dtype, shape });
const where = (n: Node) => `node '${n.name || n.opType}'`;
const num = (t: Tensor | undefined) => (t ? Array.from(t.toFloat64()) : undefined);
const norm = (axis: number, rank: number, n: Node) => {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`${where(n)}: axis ${axis} out of range for rank ${rank}`, n.name);
  return a;
};

const sameAsInput: Rule = ({ types }) => [types[0] ? T(types[0].dtype, types[0].shape) : undefined];
const firstDtypeAs =
  (dtype: DType): Rule =>
  ({ types }) => [T(dtype, types[0]?.shape)];

const broadcast =
  (outDtype?: DType): Rule =>
  ({ node, types }) => {
    if (types.some((t) => !t)) return [T(outDtype ?? types.find((t) => t)?.dtype)];
    const shapes = types.map((t) => t!.shape);
    const dtype = outDtype ?? (node.opType === 'Where' ? types[1]!.dtype : types[0]!.dtype);
    if (shapes.some((s) => !s)) return [T(dtype)];
    return [
      T(
        dtype,
        shapes.reduce((a, b) => broadcastShapes(a!, b!, where(node))),
      ),
    ];
  };

function convLike(x: RuleInput, transpose: boolean): (TensorType | undefined)[] {
  const { node, types } = x;
  const X = types[0],
    W = types[1];
  const dtype = X?.dtype;
  if (!X?.shape) return [T(dtype)];
  const spatial = X.shape.length - 2;
  // One reader for the conv and pool family: each node is checked against its own op's table.
  const a = opAttributes(node, node.opType as 'ConvTranspose') as OpAttributes<'ConvTranspose'> &
    OpAttributes<'MaxPool'>;
  const kernel =
    a.kernel_shape ?? (W?.shape ? W.shape.slice(2).map((d) => (typeof d === 'number' ? d : NaN)) : undefined);
  const strides = a.strides ?? new Array<number>(spatial).fill(1);
  const dil = a.dilations ?? new Array<number>(spatial).fill(1);
  let pads = a.pads ?? new Array<number>(spatial * 2).fill(0);
  const autoPad = a.auto_pad ?? 'NOTSET';
  const isPool = !['Conv', 'ConvTranspose', 'ConvInteger', 'QLinearConv'].includes(node.opType);
  let channels: Dim;
  if (isPool) channels = X.shape[1];
  else if (transpose) {
    const g = a.group ?? 1;
    channels = W?.shape && typeof W.shape[1] === 'number' ? W.shape[1] * g : null;
  } else channels = W?.shape?.[0] ?? null;
  const out: Dim[] = [X.shape[0], channels];
  if (!kernel || kernel.some(Number.isNaN)) return [T(dtype, [...out, ...new Array<Dim>(spatial).fill(null)])];
  const ceil = a.ceil_mode === 1;
  for (let i = 0; i < spatial; i++) {
    const inp = X.shape[i + 2];
    if (transpose) {
      const outputShape = a.output_shape;
      if (outputShape) {
        out.push(outputShape[outputShape.length - spatial + i]);
        continue;
      }
      const op = a.output_padding?.[i] ?? 0;
      if (typeof inp !== 'number') {
        out.push(null);
        continue;
      }
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
        out.push(inp * strides[i]);
        continue;
      }
      out.push(strides[i] * (inp - 1) + op + ((kernel[i] - 1) * dil[i] + 1) - pads[i] - pads[i + spatial]);
      continue;
    }
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      out.push(typeof inp === 'number' ? Math.ceil(inp / strides[i]) : null);
      continue;
    }
    if (autoPad === 'VALID') pads = new Array<number>(spatial * 2).fill(0);
    out.push(windowOut(inp, kernel[i], strides[i], dil[i], pads[i], pads[i + spatial], ceil));
  }
  const outputs: (TensorType | undefined)[] = [T(dtype, out)];
  if (node.opType === 'MaxPool' && node.outputs.length > 1) outputs.push(T('int64', out));
  return outputs;
}

function matmulShape(a: Dim[], b: Dim[], n: Node): Dim[] {
  const A = a.length === 1 ? [1, a[0]] : a,
    B = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcastShapes(A.slice(0, -2), B.slice(0, -2), where(n));
  const k1 = A[A.length - 1],
    k2 = B[B.length - 2];
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2)
    throw new ShapeError(`${where(n)}: MatMul inner dimensions differ ([${a}] x [${b}])`, n.name);
  const out = [...batch, A[A.length - 2], B[B.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

function reduce(x: RuleInput): (TensorType | undefined)[] {
  const { node, types, consts, opset } = x;
  const X = types[0];
  if (!X?.shape) return [T(X?.dtype)];
  const keep = node.attr('keepdims', 'int', 1) === 1;
  const axesFromInput = node.opType === 'ReduceSum' ? opset >= 13 : opset >= 18;
  const axes = axesFromInput ? (node.inputs[1] ? num(consts[1]) : undefined) : node.attr('axes', 'ints');
  if (axesFromInput && node.inputs[1] && !consts[1]) return [T(X.dtype, keep ? X.shape.map(() => null) : undefined)];
  const rank = X.shape.length;
  const noop = node.attr('noop_with_empty_axes', 'int', 0) === 1;
  const set = new Set(
    (axes && axes.length ? axes : noop ? [] : X.shape.map((_, i) => i)).map((a) => norm(a, rank, node)),
  );
  const out: Dim[] = [];
  X.shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return [T(X.dtype, out)];
}

function argReduce(x: RuleInput): (TensorType | undefined)[] {
  const X = x.types[0];
  if (!X?.shape) return [T('int64')];
  const axis = norm(x.node.attr('axis', 'int', 0), X.shape.length, x.node);
  const keep = x.node.attr('keepdims', 'int', 1) === 1;
  const out = X.shape.flatMap((d, i) => (i === axis ? (keep ? [1] : []) : [d]));
  return [T('int64', out)];
}

function rnn(x: RuleInput): (TensorType | undefined)[] {
  const { node, types } = x;
  const X = types[0];
  const hidden = node.attr('hidden_size', 'int');
  const dirs = node.attr('direction', 'string', 'forward') === 'bidirectional' ? 2 : 1;
  const layout = node.attr('layout', 'int', 0);
  const s = X?.shape;
  const [seq, batch] = s ? (layout === 0 ? [s[0], s[1]] : [s[1], s[0]]) : [null, null];
  const h = hidden ?? null;
  const Y = layout === 0 ? [seq, dirs, batch, h] : [batch, seq, dirs, h];
  const Yh = layout === 0 ? [dirs, batch, h] : [batch, dirs, h];
  return [T(X?.dtype, Y), T(X?.dtype, Yh), T(X?.dtype, Yh)];
}

export const RULES: Partial<Record<OpName, Rule>> = {
  Conv: (x) => convLike(x, false),
  ConvTranspose: (x) => convLike(x, true),
  MaxPool: (x) => convLike(x, false),
  AveragePool: (x) => convLike(x, false),
  LpPool: (x) => convLike(x, false),
  GlobalAveragePool: ({ types }) => [
    T(
      types[0]?.dtype,
      types[0]?.shape?.map((d, i) => (i < 2 ? d : 1)),
    ),
  ],
  GlobalMaxPool: ({ types }) => [
    T(
      types[0]?.dtype,
      types[0]?.shape?.map((d, i) => (i < 2 ? d : 1)),
    ),
  ],
  Gemm: ({ node, types }) => {
    const [A, B, C] = types;
    const { transA: ta = 0, transB: tb = 0 } = opAttributes(node, 'Gemm');
    const m = A?.shape ? A.shape[ta ? 1 : 0] : null;
    const n = B?.shape ? B.shape[tb ? 0 : 1] : null;
    return [T(A?.dtype ?? C?.dtype, [m, n])];
  },
  MatMul: ({ node, types }) => {
    const [A, B] = types;
    if (!A?.shape || !B?.shape) return [T(A?.dtype)];
    return [T(A.dtype, matmulShape(A.shape, B.shape, node))];
  },
  MatMulInteger: ({ node, types }) => [
    T('int32', types[0]?.shape && types[1]?.shape ? matmulShape(types[0].shape, types[1].shape, node) : undefined),
  ],

  Add: broadcast(),
  Sub: broadcast(),
  Mul: broadcast(),
  Div: broadcast(),
  Pow: broadcast(),
  Mod: broadcast(),
  Max: broadcast(),
  Min: broadcast(),
  Sum: broadcast(),
  Mean: broadcast(),
  PRelu: broadcast(),
  BitShift: broadcast(),
  And: broadcast('bool'),
  Or: broadcast('bool'),
  Xor: broadcast('bool'),
  Equal: broadcast('bool'),
  Less: broadcast('bool'),
  Greater: broadcast('bool'),
  LessOrEqual: broadcast('bool'),
  GreaterOrEqual: broadcast('bool'),
  Where: broadcast(),

  Relu: sameAsInput,
  LeakyRelu: sameAsInput,
  Sigmoid: sameAsInput,
  Tanh: sameAsInput,
  Exp: sameAsInput,
  Log: sameAsInput,
  Abs: sameAsInput,
  Neg: sameAsInput,
  Sqrt: sameAsInput,
  Reciprocal: sameAsInput,
  Floor: sameAsInput,
  Ceil: sameAsInput,
  Round: sameAsInput,
  Erf: sameAsInput,
  Elu: sameAsInput,
  Selu: sameAsInput,
  Celu: sameAsInput,
  HardSigmoid: sameAsInput,
  HardSwish: sameAsInput,
  Gelu: sameAsInput,
  Softplus: sameAsInput,
  Softsign: sameAsInput,
  Mish: sameAsInput,
  Clip: sameAsInput,
  Sin: sameAsInput,
  Cos: sameAsInput,
  Sign: sameAsInput,
  Not: sameAsInput,
  Identity: sameAsInput,
  Softmax: sameAsInput,
  LogSoftmax: sameAsInput,
  Hardmax: sameAsInput,
  LRN: sameAsInput,
  InstanceNormalization: sameAsInput,
  ThresholdedRelu: sameAsInput,
  BatchNormalization: ({ types }) => [types[0] ? T(types[0].dtype, types[0].shape) : undefined, types[3], types[4]],
  LayerNormalization: ({ types }) => [types[0] ? T(types[0].dtype, types[0].shape) : undefined],
  Dropout: ({ types, node }) => [
    types[0] ? T(types[0].dtype, types[0].shape) : undefined,
    ...(node.outputs.length > 1 ? [T('bool', types[0]?.shape)] : []),
  ],
  IsNaN: firstDtypeAs('bool'),
  IsInf: firstDtypeAs('bool'),

  Cast: ({ node, types }) => [T(dtypeFromOnnx(node.attr('to', 'int', 0)), types[0]?.shape)],
  CastLike: ({ types }) => [T(types[1]?.dtype, types[0]?.shape)],
  QuantizeLinear: ({ types, node }) => [
    T(types[2]?.dtype ?? dtypeFromOnnx(node.attr('output_dtype', 'int', 0)) ?? 'uint8', types[0]?.shape),
  ],
  DequantizeLinear: ({ types }) => [T(types[1]?.dtype ?? 'float32', types[0]?.shape)],
  DynamicQuantizeLinear: ({ types }) => [T('uint8', types[0]?.shape), T('float32', []), T('uint8', [])],

  Shape: ({ node, types }) => {
    const s = types[0]?.shape;
    if (!s) return [T('int64', [null])];
    const r = s.length;
    const c = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    return [T('int64', [Math.max(0, c(node.attr('end', 'int', r)) - c(node.attr('start', 'int', 0)))])];
  },
  Size: () => [T('int64', [])],
  Constant: ({ node }) => {
    const a = [...node.attributes.values()][0];
    if (!a) return [undefined];
    if (a.kind === 'tensor') return [T(a.value.dtype, [...a.value.dims])];
    if (a.kind === 'float') return [T('float32', [])];
    if (a.kind === 'floats') return [T('float32', [a.value.length])];
    if (a.kind === 'int') return [T('int64', [])];
    if (a.kind === 'ints') return [T('int64', [a.value.length])];
    return [undefined];
  },
  ConstantOfShape: ({ node, consts, types }) => [
    T(
      node.attr('value', 'tensor')?.dtype ?? 'float32',
      consts[0]
        ? num(consts[0])
        : types[0]?.shape && isStatic(types[0].shape)
          ? new Array(types[0].shape[0]).fill(null)
          : undefined,
    ),
  ],

  Reshape: ({ node, types, consts }) => {
    const X = types[0];
    const target = node.attr('shape', 'ints') ?? num(consts[1]);
    if (!target)
      return [
        T(X?.dtype, types[1]?.shape && isStatic(types[1].shape) ? new Array(types[1].shape[0]).fill(null) : undefined),
      ];
    const allowZero = node.attr('allowzero', 'int', 0) === 1;
    if (X?.shape && isStatic(X.shape)) return [T(X.dtype, reshapeDims(X.shape, target, allowZero))];
    const out: Dim[] = target.map((t, i) => (t === 0 && !allowZero ? (X?.shape?.[i] ?? null) : t === -1 ? null : t));
    // -1 can still be solved when every other dim of input and output is known.
    if (X?.shape && target.includes(-1)) {
      const inKnown = X.shape.filter((d): d is number => typeof d === 'number');
      const sym = X.shape.filter((d) => typeof d !== 'number');
      const outSym = out.filter((d, i) => typeof d !== 'number' && target[i] !== -1);
      if (sym.length === outSym.length && sym.every((s, i) => s !== null && s === outSym[i])) {
        const known = out.filter((d) => typeof d === 'number').reduce<number>((a, b) => a * b, 1);
        out[target.indexOf(-1)] = inKnown.reduce((a, b) => a * b, 1) / known;
      }
    }
    return [T(X?.dtype, out)];
  },
  Flatten: ({ node, types }) => {
    const X = types[0];
    if (!X?.shape) return [T(X?.dtype, [null, null])];
    const r = X.shape.length;
    let axis = node.attr('axis', 'int', 1);
    if (axis < 0) axis += r;
    return [T(X.dtype, [mulDims(X.shape.slice(0, axis)), mulDims(X.shape.slice(axis))])];
  },
  Transpose: ({ node, types }) => {
    const X = types[0];
    if (!X?.shape) return [T(X?.dtype)];
    const perm = node.attr('perm', 'ints') ?? X.shape.map((_, i) => X.shape!.length - 1 - i);
    return [
      T(
        X.dtype,
        perm.map((p) => X.shape![p]),
      ),
    ];
  },
  Concat: ({ node, types }) => {
    const known = types.filter((t) => t?.shape) as TensorType[];
    const dtype = types.find((t) => t?.dtype)?.dtype;
    if (known.length !== types.length || !known.length)
      return [
        T(
          dtype,
          known[0]?.shape?.map(() => null),
        ),
      ];
    const rank = known[0].shape!.length;
    const axis = norm(node.attr('axis', 'int', 0), rank, node);
    const out = [...known[0].shape!];
    for (let i = 0; i < rank; i++)
      if (i !== axis) out[i] = known.map((t) => t.shape![i]).find((d) => typeof d === 'number') ?? out[i];
    out[axis] = known.every((t) => typeof t.shape![axis] === 'number')
      ? known.reduce((s, t) => s + (t.shape![axis] as number), 0)
      : null;
    return [T(dtype, out)];
  },
  Split: ({ node, types, consts, opset }) => {
    const X = types[0];
    const n = node.outputs.length;
    if (!X?.shape) return node.outputs.map(() => T(X?.dtype));
    const axis = norm(node.attr('axis', 'int', 0), X.shape.length, node);
    const split = opset >= 13 ? num(consts[1]) : node.attr('split', 'ints');
    const len = X.shape[axis];
    const sizes: Dim[] =
      split ??
      (typeof len === 'number'
        ? Array.from({ length: n }, (_, i) => {
            const chunk = Math.ceil(len / n);
            return Math.min(chunk, Math.max(0, len - i * chunk));
          })
        : new Array<Dim>(n).fill(null));
    if (node.inputs[1] && !consts[1] && opset >= 13) sizes.fill(null);
    return sizes.map((s) =>
      T(
        X.dtype,
        X.shape!.map((d, i) => (i === axis ? s : d)),
      ),
    );
  },
  Slice: ({ node, types, consts, opset }) => {
    const X = types[0];
    if (!X?.shape) return [T(X?.dtype)];
    const starts = opset < 10 ? node.attr('starts', 'ints') : num(consts[1]);
    const ends = opset < 10 ? node.attr('ends', 'ints') : num(consts[2]);
    const axes =
      (opset < 10 ? node.attr('axes', 'ints') : node.inputs[3] ? num(consts[3]) : undefined) ??
      starts?.map((_, i) => i);
    const steps = (opset < 10 ? undefined : node.inputs[4] ? num(consts[4]) : undefined) ?? starts?.map(() => 1);
    if (!starts || !ends || !axes || !steps) {
      const out = X.shape.map(() => null as Dim);
      if (axes)
        X.shape.forEach((d, i) => {
          if (!axes.map((a) => (a < 0 ? a + X.shape!.length : a)).includes(i)) out[i] = d;
        });
      return [T(X.dtype, out)];
    }
    const out = [...X.shape];
    axes.forEach((a, k) => {
      const axis = norm(a, X.shape!.length, node);
      const len = X.shape![axis];
      out[axis] = typeof len === 'number' ? sliceIndices(len, starts[k], ends[k], steps[k]).length : null;
    });
    return [T(X.dtype, out)];
  },
  Squeeze: ({ node, types, consts, opset }) => {
    const X = types[0];
    const axes = opset >= 13 ? (node.inputs[1] ? num(consts[1]) : undefined) : node.attr('axes', 'ints');
    if (!X?.shape || (opset >= 13 && node.inputs[1] && !consts[1])) return [T(X?.dtype)];
    if (!axes && X.shape.some((d) => typeof d !== 'number')) return [T(X.dtype)];
    return [T(X.dtype, squeezeDims(X.shape, axes))];
  },
  Unsqueeze: ({ node, types, consts, opset }) => {
    const X = types[0];
    const axes = opset >= 13 ? num(consts[1]) : node.attr('axes', 'ints');
    if (!X?.shape || !axes) return [T(X?.dtype)];
    return [T(X.dtype, unsqueezeDims(X.shape, axes))];
  },
  Gather: ({ node, types }) => {
    const [X, I] = types;
    if (!X?.shape || !I?.shape) return [T(X?.dtype)];
    const axis = norm(node.attr('axis', 'int', 0), X.shape.length, node);
    return [T(X.dtype, [...X.shape.slice(0, axis), ...I.shape, ...X.shape.slice(axis + 1)])];
  },
  GatherElements: ({ types }) => [T(types[0]?.dtype, types[1]?.shape)],
  Expand: ({ node, types, consts }) => {
    const X = types[0];
    const shape = num(consts[1]);
    if (!X?.shape || !shape) return [T(X?.dtype)];
    return [T(X.dtype, broadcastShapes(X.shape, shape, where(node)))];
  },
  Tile: ({ types, consts }) => {
    const X = types[0];
    const reps = num(consts[1]);
    if (!X?.shape || !reps)
      return [
        T(
          X?.dtype,
          X?.shape?.map(() => null),
        ),
      ];
    return [
      T(
        X.dtype,
        X.shape.map((d, i) => (typeof d === 'number' ? d * reps[i] : reps[i] === 1 ? d : null)),
      ),
    ];
  },
  Pad: ({ node, types, consts, opset }) => {
    const X = types[0];
    if (!X?.shape) return [T(X?.dtype)];
    const pads = opset >= 11 ? num(consts[1]) : node.attr('pads', 'ints');
    if (!pads)
      return [
        T(
          X.dtype,
          X.shape.map(() => null),
        ),
      ];
    const r = X.shape.length;
    const axes = opset >= 18 && node.inputs[3] ? num(consts[3])?.map((a) => (a < 0 ? a + r : a)) : undefined;
    const out = [...X.shape];
    const ax = axes ?? X.shape.map((_, i) => i);
    const k = ax.length;
    ax.forEach((a, i) => {
      const d = out[a];
      out[a] = typeof d === 'number' ? d + pads[i] + pads[i + k] : null;
    });
    return [T(X.dtype, out)];
  },
  Resize: ({ node, types, consts, opset }) => {
    const X = types[0];
    if (!X?.shape) return [T(X?.dtype)];
    const scaleIdx = opset >= 11 ? 2 : 1;
    const sizes = opset >= 11 ? num(consts[3]) : undefined;
    const scales = num(consts[scaleIdx]);
    const r = X.shape.length;
    const axes = node.attr('axes', 'ints')?.map((a) => (a < 0 ? a + r : a)) ?? X.shape.map((_, i) => i);
    const out = [...X.shape];
    if (sizes && sizes.length) {
      axes.forEach((a, i) => {
        out[a] = sizes[i];
      });
      return [T(X.dtype, out)];
    }
    if (scales && scales.length) {
      axes.forEach((a, i) => {
        const d = X.shape![a];
        out[a] = typeof d === 'number' ? Math.floor(d * scales[i]) : scales[i] === 1 ? d : null;
      });
      return [T(X.dtype, out)];
    }
    return [
      T(
        X.dtype,
        X.shape.map(() => null),
      ),
    ];
  },
  Upsample: ({ types, consts }) => {
    const X = types[0];
    const scales = num(consts[1]);
    if (!X?.shape || !scales) return [T(X?.dtype)];
    return [
      T(
        X.dtype,
        X.shape.map((d, i) => (typeof d === 'number' ? Math.floor(d * scales[i]) : null)),
      ),
    ];
  },
  ReduceMean: reduce,
  ReduceSum: reduce,
  ReduceMax: reduce,
  ReduceMin: reduce,
  ReduceProd: reduce,
  ReduceL1: reduce,
  ReduceL2: reduce,
  ReduceLogSum: reduce,
  ReduceLogSumExp: reduce,
  ReduceSumSquare: reduce,
  ArgMax: argReduce,
  ArgMin: argReduce,
  TopK: ({ node, types, consts }) => {
    const X = types[0];
    if (!X?.shape) return [T(X?.dtype), T('int64')];
    const axis = norm(node.attr('axis', 'int', -1), X.shape.length, node);
    const k = num(consts[1])?.[0] ?? node.attr('k', 'int') ?? null;
    const out = X.shape.map((d, i) => (i === axis ? k : d));
    return [T(X.dtype, out), T('int64', out)];
  },
  LSTM: rnn,
  GRU: rnn,
  RNN: rnn,
  Range: ({ types, consts }) => {
    const [s, l, d] = [0, 1, 2].map((i) => num(consts[i])?.[0]);
    return [T(types[0]?.dtype, [s !== undefined && l !== undefined && d ? Math.max(Math.ceil((l - s) / d), 0) : null])];
  },
  NonZero: ({ types }) => [T('int64', [types[0]?.shape?.length ?? null, null])],
  OneHot: () => [undefined],
  Einsum: () => [undefined],
};
