/**
 * Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight
 * Equalization and Bias Correction"; AIMET's CLE): two convolutions in a row, with only
 * positively homogeneous ops between them, compute the same function when output channel i of
 * the first is divided by s_i and input channel i of the second multiplied by s_i, since
 * f(y / s) = f(y) / s for such f and s > 0. With r1_i the range of the first weight's output
 * channel i and r2_i that of the second's input channel i, s_i = √(r1_i / r2_i) leaves both at
 * √(r1_i · r2_i): every channel of both weights spans the same range, so one per-tensor scale
 * (or one per output channel of the second) wastes no levels on small channels. Chains
 * (conv → depthwise → conv, and longer) are equalized pair by pair until the scales settle,
 * which reaches the three-way balance ∛(r1·r2·r3) of AIMET's depthwise rule.
 *
 * Float outputs are unchanged (up to float rounding). Ops passed through: Relu, LeakyRelu,
 * PRelu (f(x/s) = f(x)/s for any slope), and between convolutions MaxPool, AveragePool,
 * GlobalAveragePool, GlobalMaxPool and Max/Min with a constant (the constant becomes
 * per-channel c/s). Not
 * through HardSwish, Sigmoid, Tanh, GELU… (not homogeneous), nor Clip/Relu6: Clip takes scalar
 * bounds, which a per-channel scale cannot keep, and AIMET's answer — replacing ReLU6 by ReLU
 * first — changes the float model, which this pass never does.
 */
import { InvalidArgumentError, Tensor, type Graph, type Model, type Node, type Pass, type Value } from '@edgeml/core';
import { WeightEdits, channelAbsMax, channelIndex, ownFloatConst, scaleByChannel } from './channel-weights.js';

/** Options of {@link equalizeCrossLayer}. */
export interface EqualizationOptions {
  /** Rounds over all pairs, at most (default 20); a chain of pairs settles in a few. */
  maxIterations?: number;
}

/** One equalized pair: the convolution whose output channels were divided and the one whose input channels were multiplied. */
export interface EqualizedPair {
  first: string;
  second: string;
  /** Op types passed through between them, in order (e.g. ['Relu']). */
  through: string[];
  /** Largest over smallest channel range of the first weight, before and after (1 = equal channels). */
  spreadBefore: number;
  spreadAfter: number;
}

/** What {@link equalizeCrossLayer} did. */
export interface EqualizationResult {
  pairs: EqualizedPair[];
  /** Why convolutions were not the first of a pair: the op (or condition) each chain stopped at, with counts. */
  stoppedAt: Record<string, number>;
}

/** Ops with f(y/s) = f(y)/s channel by channel for s > 0, needing no change: elementwise ones, and (convolutions) pooling. */
const ELEMENTWISE = new Set(['Relu', 'LeakyRelu', 'PRelu']);
const POOLING = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool']);

interface Pair {
  first: Node;
  second: Node;
  through: Node[];
  /** Max/Min constants to divide by the accumulated scale, per channel. */
  bounds: Node[];
  channels: number;
  firstIndex: Int32Array;
  secondIndex: Int32Array;
  /** Product of every scale applied so far, per channel. */
  total: Float64Array;
}

/** A layer's weight axes: the one holding its output channels, the one holding its input channels. */
interface LayerAxes {
  out: number;
  in: number;
  /** Conv groups (input channel i of a grouped Conv is read by its group's filters only). */
  group: number;
}

/**
 * Conv, MatMul or Gemm (not transA) with its own float32 weight — and bias, when it has one: a
 * constant it alone reads, one value per output channel. Convolutions pair with convolutions,
 * MatMul/Gemm with MatMul/Gemm (their channels lie on different activation axes).
 */
function layerAxes(n: Node): LayerAxes | undefined {
  if (!(n.domain === '' || n.domain === 'ai.onnx') || !ownFloatConst(n.inputs[1]) || n.inputs[0]?.const)
    return undefined;
  const dims = n.inputs[1].const!.dims;
  let axes: LayerAxes | undefined;
  if (n.opType === 'Conv') axes = { out: 0, in: 1, group: n.attr('group', 'int', 1) };
  else if (n.opType === 'MatMul' && dims.length === 2 && n.inputs.length === 2) axes = { out: 1, in: 0, group: 1 };
  else if (n.opType === 'Gemm' && !n.attr('transA', 'int', 0)) {
    const t = n.attr('transB', 'int', 0);
    axes = { out: t ? 0 : 1, in: t ? 1 : 0, group: 1 };
  }
  const bias = n.inputs[2];
  if (!axes || (bias && !(ownFloatConst(bias) && bias.const!.size === dims[axes.out] && bias.const!.dims.length === 1)))
    return undefined;
  return axes;
}

const isConv = (n: Node) => n.opType === 'Conv';

/** Max/Min(x, c) with c a scalar or one value per channel (broadcast along axis 1 of a rank-`rank` activation). */
function boundConst(node: Node, x: Value, channels: number, rank: number): Value | undefined {
  if (node.opType !== 'Max' && node.opType !== 'Min') return undefined;
  if (node.inputs.length !== 2) return undefined;
  const c = node.inputs[0] === x ? node.inputs[1] : node.inputs[1] === x ? node.inputs[0] : undefined;
  if (!c?.const || c.const.dtype !== 'float32') return undefined;
  const dims = c.const.dims;
  const perChannel = c.const.size === channels && dims[dims.length - (rank - 1)] === channels;
  return c.const.size === 1 || perChannel ? c : undefined;
}

/** Follow `first`'s output through homogeneous ops to the next Conv; the pair, or why the chain stops. */
function pairFrom(graph: Graph, first: Node, firstAxes: LayerAxes): Pair | string {
  const w1 = first.inputs[1]!.const!;
  const channels = w1.dims[firstAxes.out];
  const through: Node[] = [];
  const bounds: Node[] = [];
  let v = first.outputs[0];
  for (;;) {
    if (graph.outputs.includes(v)) return 'graph output';
    const uses = v.uses();
    if (uses.length !== 1) return uses.length ? 'several readers' : 'no reader';
    const next = uses[0].node;
    const axes = uses[0].index === 0 ? layerAxes(next) : undefined;
    if (axes && isConv(next) === isConv(first)) {
      const w2 = next.inputs[1]!.const!;
      if (w2.dims[axes.in] * axes.group !== channels) return 'channel mismatch';
      return {
        first,
        second: next,
        through,
        bounds,
        channels,
        firstIndex: channelIndex(w1.dims, firstAxes.out),
        secondIndex: channelIndex(w2.dims, axes.in, axes.group),
        total: new Float64Array(channels).fill(1),
      };
    }
    const homogeneous =
      (ELEMENTWISE.has(next.opType) && uses[0].index === 0) ||
      (isConv(first) && POOLING.has(next.opType) && uses[0].index === 0 && !next.outputs[1]?.uses().length);
    // Bounds broadcast along axis 1: a convolution's channels.
    if (isConv(first) && boundConst(next, v, channels, w1.dims.length)) bounds.push(next);
    else if (!homogeneous) return next.opType;
    through.push(next);
    v = next.outputs[0];
  }
}

const spread = (r: Float64Array) => {
  const nz = [...r].filter((x) => x > 0);
  return nz.length ? Math.max(...nz) / Math.min(...nz) : 1;
};

/** One equalization step of `pair` on the working copies; returns the largest |log s| applied. */
function equalizePair(pair: Pair, edits: WeightEdits): number {
  const w1 = edits.data(pair.first.inputs[1]!);
  const w2 = edits.data(pair.second.inputs[1]!);
  const r1 = channelAbsMax(w1, pair.firstIndex, pair.channels);
  const r2 = channelAbsMax(w2, pair.secondIndex, pair.channels);
  const s = new Float64Array(pair.channels);
  let moved = 0;
  for (let i = 0; i < pair.channels; i++) {
    // A channel one of the two layers ignores (all-zero weights) keeps its scale.
    s[i] = r1[i] > 0 && r2[i] > 0 ? Math.sqrt(r1[i] / r2[i]) : 1;
    moved = Math.max(moved, Math.abs(Math.log(s[i])));
    pair.total[i] *= s[i];
  }
  const inverse = Float64Array.from(s, (x) => 1 / x);
  scaleByChannel(w1, pair.firstIndex, inverse);
  const bias = pair.first.inputs[2];
  if (bias) scaleByChannel(edits.data(bias), channelIndex(bias.const!.dims, 0), inverse);
  scaleByChannel(w2, pair.secondIndex, s);
  return moved;
}

/** Max/Min bounds become per-channel constants c_i / S_i (shape [1, C, 1, …] of the activation's rank). */
function rescaleBounds(graph: Graph, pair: Pair): void {
  const rank = pair.first.inputs[1]!.const!.dims.length;
  const dims = [1, pair.channels, ...Array<number>(rank - 2).fill(1)];
  for (const node of pair.bounds) {
    const x = pair.through[pair.through.indexOf(node) - 1]?.outputs[0] ?? pair.first.outputs[0];
    const c = boundConst(node, x, pair.channels, rank)!;
    const old = c.const!.data as Float32Array;
    const data = Float32Array.from({ length: pair.channels }, (_, i) => old[old.length === 1 ? 0 : i] / pair.total[i]);
    const t = Tensor.from('float32', dims, data);
    const name = graph.names.value(`${c.name}_equalized`);
    t.name = name;
    node.setInput(node.inputs.indexOf(c), graph.addInitializer(name, t));
  }
}

/**
 * Equalize every Conv → (homogeneous ops) → Conv pair (and MatMul/Gemm pair) of the main graph, in place; float
 * outputs stay as they were.
 *
 * @example
 * ```ts
 * const { pairs } = equalizeCrossLayer(model);
 * console.log(pairs.map((p) => `${p.first} → ${p.second}: ${p.spreadBefore.toFixed(0)}× → ${p.spreadAfter.toFixed(1)}×`));
 * ```
 */
export function equalizeCrossLayer(model: Model, options: EqualizationOptions = {}): EqualizationResult {
  const maxIterations = options.maxIterations ?? 20;
  if (!Number.isInteger(maxIterations) || maxIterations < 1)
    throw new InvalidArgumentError(`maxIterations must be an integer ≥ 1, got ${maxIterations}`, 'maxIterations');
  const graph = model.graph;
  const pairs: Pair[] = [];
  const stoppedAt: Record<string, number> = {};
  for (const node of graph) {
    const axes = layerAxes(node);
    if (!axes) continue;
    const p = pairFrom(graph, node, axes);
    if (typeof p === 'string') stoppedAt[p] = (stoppedAt[p] ?? 0) + 1;
    else pairs.push(p);
  }
  const edits = new WeightEdits();
  const before = pairs.map((p) => spread(channelAbsMax(edits.data(p.first.inputs[1]!), p.firstIndex, p.channels)));
  for (let round = 0; round < maxIterations; round++) {
    let moved = 0;
    for (const p of pairs) moved = Math.max(moved, equalizePair(p, edits));
    // Scales within 0.1 % of 1: the chain has settled.
    if (moved < 1e-3) break;
  }
  const result: EqualizationResult = {
    stoppedAt,
    pairs: pairs.map((p, i) => ({
      first: p.first.name,
      second: p.second.name,
      through: p.through.map((n) => n.opType),
      spreadBefore: before[i],
      spreadAfter: spread(channelAbsMax(edits.data(p.first.inputs[1]!), p.firstIndex, p.channels)),
    })),
  };
  edits.commit();
  for (const p of pairs) rescaleBounds(graph, p);
  return result;
}

/**
 * {@link equalizeCrossLayer} as a pass; `onResult` receives what it did.
 *
 * @example
 * ```ts
 * await new PassManager([crossLayerEqualization({}, (r) => console.log(r.pairs.length))]).run(model);
 * ```
 */
export function crossLayerEqualization(
  options: EqualizationOptions = {},
  onResult?: (result: EqualizationResult) => void,
): Pass {
  return {
    name: 'cross-layer-equalization',
    inPlace: true,
    run(model) {
      const result = equalizeCrossLayer(model, options);
      onResult?.(result);
      return { model, modified: result.pairs.length > 0 };
    },
  };
}
