/**
 * Reference kernels for constant evaluation: the shape-arithmetic ops and elementwise
 * arithmetic that constant folding and shape inference need. Each kernel receives constant
 * inputs and returns outputs, or undefined when it cannot evaluate (unsupported attribute,
 * dtype, or a result that would not be exact).
 */
import { opEntry, type OpName } from './op-names.js';
import type { Node } from '../ir/node.js';
import { Tensor, shapeSize } from '../tensor/tensor.js';
import { type DType, dtypeFromOnnx, dtypeInfo } from '../tensor/dtype.js';
import { ShapeError } from '../errors.js';
import { broadcastDims, broadcastIndex, fromFloat64, gatherAlongAxis, normAxis, stridesOf } from './numeric.js';

export type Kernel = (node: Node, inputs: readonly (Tensor | undefined)[], opset: number) => Tensor[] | undefined;

const ints = (t: Tensor | undefined): number[] | undefined => (t ? Array.from(t.toFloat64()) : undefined);
const isNumeric = (t: Tensor) => t.dtype !== 'string' && !t.dtype.startsWith('complex') && dtypeInfo(t.dtype).bits >= 8;
const SAFE = 2 ** 53;

function binary(fn: (a: number, b: number) => number, opts: { out?: DType; intDiv?: boolean } = {}): Kernel {
  return (node, [a, b]) => {
    if (!a || !b || !isNumeric(a) || !isNumeric(b)) return undefined;
    const x = a.toFloat64(),
      y = b.toFloat64();
    if (a.dtype === 'int64' || a.dtype === 'uint64')
      for (const v of [...x, ...y]) if (Math.abs(v) > SAFE) return undefined;
    const dims = broadcastDims(a.dims, b.dims, `node '${node.name || node.opType}': `);
    const ia = broadcastIndex(a.dims, dims),
      ib = broadcastIndex(b.dims, dims);
    const n = shapeSize(dims);
    const out = new Float64Array(n);
    const isInt = dtypeInfo(a.dtype).isInteger;
    for (let i = 0; i < n; i++) {
      const r = fn(x[ia ? ia[i] : i], y[ib ? ib[i] : i]);
      out[i] = isInt && opts.intDiv ? Math.trunc(r) : r;
    }
    if (isInt) for (const v of out) if (!Number.isFinite(v) || Math.abs(v) > SAFE) return undefined;
    return [fromFloat64(opts.out ?? a.dtype, dims, out)];
  };
}

/** ONNX's variadic elementwise ops (Max, Min) fold their inputs pairwise, broadcasting as they go. */
function variadic(pairwise: Kernel): Kernel {
  return (node, inputs, opset) => {
    const [first, ...rest] = inputs;
    if (!first || !isNumeric(first)) return undefined;
    let acc = first;
    for (const next of rest) {
      const folded = pairwise(node, [acc, next], opset)?.[0];
      if (!folded) return undefined;
      acc = folded;
    }
    return [acc];
  };
}

function unary(fn: (a: number) => number): Kernel {
  return (_node, [a]) => {
    if (!a || !isNumeric(a)) return undefined;
    return [fromFloat64(a.dtype, a.dims, a.toFloat64().map(fn))];
  };
}

/** Inputs-or-attribute helper: opsets moved axes/starts/... from attributes to inputs. */
function axesOf(node: Node, input: Tensor | undefined): number[] | undefined {
  return input ? ints(input) : node.attr('axes', 'ints');
}

const toFloat32 = (v: number) => Math.fround(v);

export const KERNELS: Partial<Record<OpName, Kernel>> = {
  Identity: (_n, [a]) => (a ? [a] : undefined),
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b) => a / b, { intDiv: true }),
  Equal: binary((a, b) => (a === b ? 1 : 0), { out: 'bool' }),
  Less: binary((a, b) => (a < b ? 1 : 0), { out: 'bool' }),
  Greater: binary((a, b) => (a > b ? 1 : 0), { out: 'bool' }),
  Max: variadic(binary((a, b) => Math.max(a, b))),
  Min: variadic(binary((a, b) => Math.min(a, b))),
  Neg: unary((a) => -a),
  Abs: unary(Math.abs),
  Sqrt: unary(Math.sqrt),
  Reciprocal: unary((a) => 1 / a),
  // Silero VAD's LSTM branches test Not(Equal(...)) of shapes: folded, the If picks its branch.
  Not: (_n, [a]) =>
    a?.dtype === 'bool'
      ? [
          fromFloat64(
            'bool',
            a.dims,
            a.toFloat64().map((x) => (x ? 0 : 1)),
          ),
        ]
      : undefined,

  Shape: (node, [a]) => {
    if (!a) return undefined;
    return [shapeTensor(node, a.dims)];
  },
  Size: (_n, [a]) => (a ? [Tensor.from('int64', [], [BigInt(a.size)])] : undefined),

  Cast: (node, [a]) => {
    const to = dtypeFromOnnx(node.attr('to', 'int', 0));
    if (!a || !to || !isNumeric(a) || to === 'string' || dtypeInfo(to).bits < 8) return undefined;
    if (to === a.dtype) return [a];
    const v = a.toFloat64();
    if (to === 'float32') return [fromFloat64(to, a.dims, v.map(toFloat32))];
    if (dtypeInfo(to).isInteger) for (const x of v) if (!Number.isFinite(x) || Math.abs(x) > SAFE) return undefined;
    return [fromFloat64(to, a.dims, v)];
  },

  Gather: (node, [data, indices]) => {
    if (!data || !indices || data.dtype === 'string' || !isNumeric(data)) return undefined;
    const axis = normAxis(node.attr('axis', 'int', 0), data.dims.length, `node '${node.name}': `);
    const idx = ints(indices)!.map((i) => (i < 0 ? i + data.dims[axis] : i));
    if (idx.some((i) => i < 0 || i >= data.dims[axis]))
      throw new ShapeError(
        `node '${node.name || 'Gather'}': index out of range for axis of size ${data.dims[axis]}`,
        node.name,
      );
    const { data: out } = gatherAlongAxis(data.toFloat64(), data.dims, axis, idx);
    const dims = [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)];
    return [fromFloat64(data.dtype, dims, out)];
  },

  Unsqueeze: (node, [a, axesT]) => {
    const axes = axesOf(node, axesT);
    if (!a || !axes) return undefined;
    return [a.reshape(unsqueezeDims(a.dims, axes))];
  },
  Squeeze: (node, [a, axesT]) => {
    if (!a) return undefined;
    const axes = axesOf(node, axesT);
    return [a.reshape(squeezeDims(a.dims, axes))];
  },
  Reshape: (node, [a, shape]) => {
    const target = node.attr('shape', 'ints') ?? ints(shape);
    if (!a || !target) return undefined;
    return [a.reshape(reshapeDims(a.dims, target, node.attr('allowzero', 'int', 0) === 1))];
  },
  Flatten: (node, [a]) => {
    if (!a) return undefined;
    // axis lies in [-rank, rank]: a negative one counts from the rank, not from rank + 1.
    const rank = a.dims.length;
    const given = node.attr('axis', 'int', 1);
    const axis = given < 0 ? given + rank : given;
    if (axis < 0 || axis > rank)
      throw new ShapeError(
        `node '${node.name || 'Flatten'}': axis ${given} is out of range for rank ${rank}`,
        node.name,
      );
    return [a.reshape([shapeSize(a.dims.slice(0, axis)), shapeSize(a.dims.slice(axis))])];
  },

  Concat: (node, inputs) => {
    if (inputs.some((t) => !t) || inputs.length === 0) return undefined;
    const ts = inputs as Tensor[];
    if (!ts.every(isNumeric)) return undefined;
    const rank = ts[0].dims.length;
    const axis = normAxis(node.attr('axis', 'int', 0), rank);
    const outDims = [...ts[0].dims];
    outDims[axis] = ts.reduce((s, t) => s + t.dims[axis], 0);
    const outer = shapeSize(outDims.slice(0, axis));
    const out = new Float64Array(shapeSize(outDims));
    let o = 0;
    const datas = ts.map((t) => t.toFloat64());
    for (let a = 0; a < outer; a++) {
      for (let k = 0; k < ts.length; k++) {
        const chunk = shapeSize(ts[k].dims.slice(axis));
        out.set(datas[k].subarray(a * chunk, (a + 1) * chunk), o);
        o += chunk;
      }
    }
    return [fromFloat64(ts[0].dtype, outDims, out)];
  },

  Slice: (node, [data, startsT, endsT, axesT, stepsT], opset) => {
    if (!data || !isNumeric(data)) return undefined;
    const starts = opset < 10 ? node.attr('starts', 'ints') : ints(startsT);
    const ends = opset < 10 ? node.attr('ends', 'ints') : ints(endsT);
    if (!starts || !ends) return undefined;
    const axes = (opset < 10 ? node.attr('axes', 'ints') : ints(axesT)) ?? starts.map((_, i) => i);
    const steps = (opset < 10 ? undefined : ints(stepsT)) ?? starts.map(() => 1);
    let dims = [...data.dims];
    let values = data.toFloat64();
    for (let k = 0; k < axes.length; k++) {
      const axis = normAxis(axes[k], dims.length);
      const idx = sliceIndices(dims[axis], starts[k], ends[k], steps[k]);
      const r = gatherAlongAxis(values, dims, axis, idx);
      values = r.data;
      dims = r.dims;
    }
    return [fromFloat64(data.dtype, dims, values)];
  },

  Transpose: (node, [a]) => {
    if (!a || !isNumeric(a)) return undefined;
    const rank = a.dims.length;
    const perm = node.attr('perm', 'ints') ?? a.dims.map((_, i) => rank - 1 - i);
    const outDims = perm.map((p) => a.dims[p]);
    const inStrides = stridesOf(a.dims);
    const src = a.toFloat64();
    const out = new Float64Array(a.size);
    const counter = new Array<number>(rank).fill(0);
    for (let i = 0; i < out.length; i++) {
      let off = 0;
      for (let d = 0; d < rank; d++) off += counter[d] * inStrides[perm[d]];
      out[i] = src[off];
      for (let d = rank - 1; d >= 0; d--) {
        if (++counter[d] < outDims[d]) break;
        counter[d] = 0;
      }
    }
    return [fromFloat64(a.dtype, outDims, out)];
  },

  Constant: (node) => {
    const a = [...node.attributes.values()][0];
    if (!a) return undefined;
    switch (a.kind) {
      case 'tensor':
        return [a.value];
      case 'float':
        return [Tensor.from('float32', [], [a.value])];
      case 'floats':
        return [Tensor.from('float32', [a.value.length], a.value)];
      case 'int':
        return [fromFloat64('int64', [], [a.value])];
      case 'ints':
        return [fromFloat64('int64', [a.value.length], a.value)];
      default:
        return undefined;
    }
  },

  ConstantOfShape: (node, [shape]) => {
    if (!shape) return undefined;
    const dims = ints(shape)!;
    const value = node.attr('value', 'tensor');
    const dtype = value?.dtype ?? 'float32';
    if (!isNumeric(value ?? Tensor.from('float32', [1], [0]))) return undefined;
    const fill = value ? value.toFloat64()[0] : 0;
    return [fromFloat64(dtype, dims, new Float64Array(shapeSize(dims)).fill(fill))];
  },

  Range: (_n, [start, limit, delta]) => {
    if (!start || !limit || !delta) return undefined;
    const [s, l, d] = [start, limit, delta].map((t) => t.toFloat64()[0]);
    const n = Math.max(Math.ceil((l - s) / d), 0);
    return [
      fromFloat64(
        start.dtype,
        [n],
        Float64Array.from({ length: n }, (_, i) => s + i * d),
      ),
    ];
  },

  Expand: (node, [a, shape]) => {
    if (!a || !shape || !isNumeric(a)) return undefined;
    const dims = broadcastDims(a.dims, ints(shape)!, `node '${node.name}': `);
    const idx = broadcastIndex(a.dims, dims);
    const src = a.toFloat64();
    return [fromFloat64(a.dtype, dims, idx ? Float64Array.from(idx, (i) => src[i]) : src)];
  },

  Where: (node, [c, x, y]) => {
    if (!c || !x || !y || !isNumeric(x) || !isNumeric(y)) return undefined;
    const dims = broadcastDims(broadcastDims(c.dims, x.dims), y.dims, `node '${node.name}': `);
    const [ic, ix, iy] = [c, x, y].map((t) => broadcastIndex(t.dims, dims));
    const [vc, vx, vy] = [c, x, y].map((t) => t.toFloat64());
    const out = new Float64Array(shapeSize(dims));
    for (let i = 0; i < out.length; i++) out[i] = vc[ic ? ic[i] : i] ? vx[ix ? ix[i] : i] : vy[iy ? iy[i] : i];
    return [fromFloat64(x.dtype, dims, out)];
  },
};

export function shapeTensor(node: Node, dims: readonly number[]): Tensor {
  const rank = dims.length;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = clamp(node.attr('start', 'int', 0));
  const end = clamp(node.attr('end', 'int', rank));
  const sel = dims.slice(start, Math.max(start, end));
  return Tensor.from(
    'int64',
    [sel.length],
    BigInt64Array.from(sel, (d) => BigInt(d)),
  );
}

/** ONNX Slice index list for one axis (handles negative, clamped and reversed ranges). */
export function sliceIndices(len: number, start: number, end: number, step: number): number[] {
  if (step === 0) throw new ShapeError('Slice step cannot be 0');
  const norm = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + len : v, lo), hi);
  const out: number[] = [];
  if (step > 0) {
    const s = norm(start, 0, len),
      e = norm(end, 0, len);
    for (let i = s; i < e; i += step) out.push(i);
  } else {
    const s = norm(start, -1, len - 1),
      e = norm(end, -1, len - 1);
    for (let i = s; i > e; i += step) out.push(i);
  }
  return out;
}

export function unsqueezeDims<D>(dims: readonly D[], axes: readonly number[]): (D | number)[] {
  const rank = dims.length + axes.length;
  const set = new Set(axes.map((a) => normAxis(a, rank)));
  const out: (D | number)[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : dims[j++]);
  return out;
}

export function squeezeDims<D>(dims: readonly D[], axes: readonly number[] | undefined): D[] {
  if (!axes) return dims.filter((d) => d !== 1);
  const set = new Set(axes.map((a) => normAxis(a, dims.length)));
  return dims.filter((_, i) => !set.has(i));
}

/** Resolve a Reshape target (0 = copy, -1 = infer) against concrete input dims. */
export function reshapeDims(dims: readonly number[], target: readonly number[], allowZero: boolean): number[] {
  const out = target.map((t, i) => (t === 0 && !allowZero ? dims[i] : t));
  const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const neg = out.indexOf(-1);
  if (neg >= 0) {
    if (known === 0) throw new ShapeError(`cannot infer -1 in Reshape to [${target}] with zero-size dims`);
    out[neg] = shapeSize(dims) / known;
  }
  if (!Number.isInteger(out[neg] ?? 0) || shapeSize(out) !== shapeSize(dims))
    throw new ShapeError(`cannot reshape [${dims}] to [${target}]`);
  return out;
}

/** Evaluate a node on constant inputs, or undefined if no kernel applies. */
export function evaluateNode(node: Node, inputs: readonly (Tensor | undefined)[], opset: number): Tensor[] | undefined {
  const k = opEntry(KERNELS, node);
  return k ? k(node, inputs, opset) : undefined;
}
