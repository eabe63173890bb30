/**
 * Normalizations exporters spell out: LayerNormalization as mean, centred square, variance and
 * square root (PyTorch before opset 17, TF via tf2onnx), Softmax as exp over its sum (with or
 * without the max subtracted first). Matched as onnxruntime's layer_norm_fusion.cc and
 * onnxsim's rules match them: the reduction axes must be the trailing ones (LayerNormalization)
 * or one axis (Softmax), reductions keep dims, Pow's exponent is exactly 2, and every
 * intermediate is read only inside the idiom.
 */
import { GraphBuilder } from '../../ir/editing.js';
import type { Graph } from '../../ir/graph.js';
import { attr } from '../../ir/attribute.js';
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { fromFloat64 } from '../../ops/numeric.js';
import { isStatic } from '../../shape/dims.js';
import type { Tensor } from '../../tensor/tensor.js';
import {
  constantOf,
  isClosed,
  isFloat,
  keepsDims,
  otherOperand,
  producedBy,
  rankOf,
  reduceAxes,
  sameAxes,
  scalarOf,
} from './match.js';
import { fuseInto, type Rewrite } from './rewrite.js';

/** `v` is (x − mean(x)) over `axes` kept: the Sub and its ReduceMean. */
function centred(v: Value | undefined): { x: Value; axes: number[]; nodes: Node[] } | undefined {
  const sub = producedBy(v, 'Sub');
  const x = sub?.inputs[0];
  const mean = producedBy(sub?.inputs[1], 'ReduceMean');
  if (!sub || !x || !mean || mean.inputs[0] !== x || !keepsDims(mean)) return undefined;
  const axes = reduceAxes(mean, rankOf(x));
  return axes && { x, axes, nodes: [sub, mean] };
}

/** `v` is d² as Pow(d, 2) or Mul(d, d). */
function squareOf(v: Value | undefined, d: Value): Node | undefined {
  const pow = producedBy(v, 'Pow');
  if (pow) {
    const e = constantOf(pow.inputs[1]);
    return pow.inputs[0] === d && e?.size === 1 && e.toFloat64()[0] === 2 ? pow : undefined;
  }
  const mul = producedBy(v, 'Mul');
  return mul && mul.inputs[0] === d && mul.inputs[1] === d ? mul : undefined;
}

/** Axes as LayerNormalization's `axis` (−k for the last k), when they are exactly the trailing ones. */
function trailingAxis(axes: readonly number[], rank: number | undefined): number | undefined {
  const sorted = [...axes].sort((a, b) => a - b);
  const k = sorted.length;
  const negative = sorted.every((a) => a < 0);
  if (negative) return sorted.every((a, i) => a === i - k) ? -k : undefined;
  if (rank === undefined || sorted.some((a) => a < 0)) return undefined;
  return sorted.every((a, i) => a === rank - k + i) ? -k : undefined;
}

/** The matched statistics of a decomposed LayerNormalization ending in Div(d, Sqrt(var + eps)). */
function layerNormCore(div: Node): { x: Value; axis: number; epsilon: number; nodes: Node[] } | undefined {
  const [d, denominator] = div.inputs;
  const c = centred(d);
  const sqrt = producedBy(denominator, 'Sqrt');
  const add = producedBy(sqrt?.inputs[0], 'Add');
  if (!c || !sqrt || !add || !isFloat(c.x)) return undefined;
  for (const v of add.inputs) {
    const variance = producedBy(v, 'ReduceMean');
    const epsilon = scalarOf(otherOperand(add, v!), v);
    const square = variance && squareOf(variance.inputs[0], d!);
    if (!variance || !square || epsilon === undefined || !(epsilon > 0) || !keepsDims(variance)) continue;
    const axes = reduceAxes(variance, rankOf(c.x));
    if (!axes || !sameAxes(axes, c.axes)) continue;
    const axis = trailingAxis(axes, rankOf(c.x));
    if (axis === undefined) return undefined;
    return { x: c.x, axis, epsilon, nodes: [...c.nodes, square, variance, add, sqrt, div] };
  }
  return undefined;
}

/** The normalized dims (the last −axis of x's shape) when static. */
function normalizedDims(x: Value, axis: number): number[] | undefined {
  const shape = x.shape;
  const dims = shape?.slice(shape.length + axis);
  return isStatic(dims) && dims.length === -axis ? dims : undefined;
}

function onesLike(graph: Graph, base: string, like: Value, dims: number[]): Value {
  const size = dims.reduce((a, b) => a * b, 1);
  return new GraphBuilder(graph).constant(base, fromFloat64(like.dtype!, dims, new Float64Array(size).fill(1)));
}

/**
 * (x − mean) / √(var + eps) over the trailing axes → LayerNormalization with unit scale; the
 * γ and β after it join in {@link layerNormAffine}.
 */
const layerNorm: Rewrite = {
  name: 'layer-normalization',
  roots: ['Div'],
  minOpset: 17,
  apply(root, { graph }) {
    const core = layerNormCore(root);
    const dims = core && normalizedDims(core.x, core.axis);
    if (!core || !dims || !isClosed(core.nodes, root)) return false;
    const scale = onesLike(graph, `${root.outputs[0].name}_scale`, core.x, dims);
    fuseInto(
      core.nodes,
      root,
      'LayerNormalization',
      [core.x, scale],
      [attr('axis', 'int', core.axis), attr('epsilon', 'float', core.epsilon)],
    );
    return true;
  },
};

/** `c` broadcast onto the normalized dims, when it changes nothing else: its shape fits inside them. */
function broadcastOnto(c: Tensor, dims: readonly number[]): Float64Array | undefined {
  const k = dims.length;
  const cd = c.dims;
  if (cd.length > k && cd.slice(0, cd.length - k).some((d) => d !== 1)) return undefined;
  const tail = cd.slice(Math.max(0, cd.length - k));
  const padded = [...new Array<number>(k - tail.length).fill(1), ...tail];
  if (padded.some((d, i) => d !== 1 && d !== dims[i])) return undefined;
  const values = c.toFloat64();
  const size = dims.reduce((a, b) => a * b, 1);
  const out = new Float64Array(size);
  const strides = padded.map((_, i) => padded.slice(i + 1).reduce((a, b) => a * b, 1));
  const index = new Array<number>(k).fill(0);
  for (let i = 0; i < size; i++) {
    let src = 0;
    for (let j = 0; j < k; j++) src += (padded[j] === 1 ? 0 : index[j]) * strides[j];
    out[i] = values[src];
    for (let j = k - 1; j >= 0 && ++index[j] === dims[j]; j--) index[j] = 0;
  }
  return out;
}

/** LayerNormalization(x, s, b) · γ → LayerNormalization(x, s·γ, b·γ); + β → bias b + β (constants only). */
const layerNormAffine: Rewrite = {
  name: 'layer-normalization-affine',
  roots: ['Mul', 'Add'],
  minOpset: 17,
  apply(root, { graph }) {
    for (const v of root.inputs) {
      const ln = producedBy(v, 'LayerNormalization');
      const c = constantOf(otherOperand(root, v!));
      if (!ln || !c || ln.outputs.length !== 1 || !isClosed([ln, root], root)) continue;
      const [x, s, b] = ln.inputs;
      const scale = constantOf(s);
      const bias = b ? constantOf(b) : undefined;
      const rank = rankOf(x);
      if (!x || !scale || (b && !bias) || c.dtype !== scale.dtype) return false;
      // A constant of higher rank than x would broadcast the output to a new shape.
      if (rank === undefined || c.dims.length > rank) return false;
      const dims = [...scale.dims];
      const factor = broadcastOnto(c, dims);
      if (!factor) return false;
      const sv = scale.toFloat64();
      const bv = bias ? broadcastOnto(bias, dims) : new Float64Array(sv.length);
      if (!bv) return false;
      const mul = root.opType === 'Mul';
      const ns = mul ? sv.map((e, i) => e * factor[i]) : sv;
      const nb = bv.map((e, i) => (mul ? e * factor[i] : e + factor[i]));
      const builder = new GraphBuilder(graph);
      const name = root.outputs[0].name;
      const newScale = builder.constant(`${name}_scale`, fromFloat64(scale.dtype, dims, ns));
      const newBias = builder.constant(`${name}_bias`, fromFloat64(scale.dtype, dims, nb));
      fuseInto([ln, root], root, 'LayerNormalization', [x, newScale, newBias], [...ln.attributes.values()]);
      return true;
    }
    return false;
  },
};

/** exp(z) / Σ exp(z) over one kept axis, z = x or x − max(x) over the same axis → Softmax(x, axis). */
const softmax: Rewrite = {
  name: 'softmax',
  roots: ['Div'],
  minOpset: 1,
  apply(root, { opset }) {
    const [e, s] = root.inputs;
    const exp = producedBy(e, 'Exp');
    const sum = producedBy(s, 'ReduceSum');
    if (!exp || !sum || sum.inputs[0] !== e || !keepsDims(sum)) return false;
    let x = exp.inputs[0];
    const rank = rankOf(x);
    const axes = reduceAxes(sum, rank);
    if (!x || !axes || axes.length !== 1 || !isFloat(x)) return false;
    const region = [exp, sum, root];
    const sub = producedBy(x, 'Sub');
    const max = producedBy(sub?.inputs[1], 'ReduceMax');
    if (sub && max && max.inputs[0] === sub.inputs[0] && keepsDims(max)) {
      const maxAxes = reduceAxes(max, rank);
      if (maxAxes && sameAxes(maxAxes, axes) && isClosed([sub, max, exp], exp)) {
        x = sub.inputs[0]!;
        region.push(sub, max);
      }
    }
    // Before opset 13 Softmax flattens from its axis, which is one axis only when it is the last.
    const last = axes[0] === -1 || (rank !== undefined && axes[0] === rank - 1);
    if ((opset < 13 && !last) || !isClosed(region, root)) return false;
    fuseInto(region, root, 'Softmax', [x], { axis: axes[0] });
    return true;
  },
};

/** The normalization fusions: LayerNormalization (opset 17), its γ/β, Softmax. */
export const NORMALIZATION_REWRITES: readonly Rewrite[] = [layerNorm, layerNormAffine, softmax];
