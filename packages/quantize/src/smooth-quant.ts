/**
 * SmoothQuant (Xiao et al. 2023): activations of transformer MatMuls carry a few channels
 * with outliers far beyond the rest, so one per-tensor activation scale leaves the ordinary
 * channels a handful of levels, while weights are easy to quantize. X·W = (X / s)·(s·W), so
 * dividing input channel j by s_j = max|X_j|^α / max|W_j|^(1−α) (W_j: row j of the weight,
 * over every MatMul reading X) migrates part of the difficulty from the activation to the
 * weight (α = 0.5 balances them). The division is folded into the op producing X — a
 * LayerNormalization's scale and bias, a Mul or an Add by a per-channel constant (through the
 * Add to what produces its input), or a MatMul's weight columns — so the graph gains no op.
 * Activations whose producer cannot absorb it are left alone. Float outputs are unchanged (up
 * to float rounding); the maxima are measured on the calibration samples with the runtime.
 */
import {
  InvalidArgumentError,
  Tensor,
  type Backend,
  type Graph,
  type Model,
  type Node,
  type Pass,
  type Value,
} from '@edgeml/core';
import type { CalibrationData } from './calibrate.js';
import { channelStatistics } from './channel-stats.js';
import { WeightEdits, channelAbsMax, channelIndex, ownFloatConst, scaleByChannel } from './channel-weights.js';

/** Options of {@link smoothQuant}. */
export interface SmoothQuantOptions {
  /** Migration strength in [0, 1] (default 0.5): 0 leaves activations as they are, 1 moves all of their range to the weights. */
  alpha?: number;
}

/** One smoothed activation and the MatMuls reading it. */
export interface SmoothedActivation {
  activation: string;
  readers: string[];
  /** The node that absorbed 1/s (its op type and name). */
  foldedInto: string;
  channels: number;
  /** Largest over smallest per-channel max|x|, before and after (how uneven the channels were). */
  spreadBefore: number;
  spreadAfter: number;
}

/** What {@link smoothQuant} did. */
export interface SmoothQuantResult {
  smoothed: SmoothedActivation[];
  /** Activations read by MatMuls with constant weights that were left alone, with why. */
  skipped: { activation: string; reason: string }[];
}

/** X's readers (each a MatMul/Gemm with its own constant weight) and the constants that absorb 1/s. */
interface Group {
  x: Value;
  readers: Node[];
  /** Constants of the producer side, divided by s along their last axis (a scalar becomes one value per channel). */
  folds: Value[];
  foldedInto: Node;
  channels: number;
}

const isDefault = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';

/** The weight's axis holding X's channels, for a MatMul/Gemm reading X first with its own constant weight; else undefined. */
function readerAxis(node: Node, x: Value): number | undefined {
  if (!isDefault(node) || node.inputs[0] !== x || node.inputs[1] === x) return undefined;
  const w = node.inputs[1];
  if (!ownFloatConst(w) || w.const!.dims.length !== 2) return undefined;
  if (node.opType === 'MatMul') return 0;
  if (node.opType === 'Gemm' && !node.attr('transA', 'int', 0)) return node.attr('transB', 'int', 0) ? 1 : 0;
  return undefined;
}

/** A constant this node alone reads that is one value, or one per channel along its last axis. */
const perChannelConst = (v: Value | undefined, channels: number | undefined): v is Value =>
  ownFloatConst(v) &&
  (v.const!.size === 1 || (channels !== undefined && v.const!.size === channels && v.const!.dims.at(-1) === channels));

/** Walk back from X to the op that can absorb 1/s; the constants to divide, or why none can. */
function foldsFor(graph: Graph, x: Value, channels: number): { folds: Value[]; into: Node } | string {
  const folds: Value[] = [];
  let v = x;
  for (;;) {
    const p = v.producer();
    if (!p) return 'its producer is a graph input';
    if (!isDefault(p)) return `${p.opType} (domain ${p.domain})`;
    const constIndex = p.inputs.findIndex((i) => perChannelConst(i, channels));
    if (p.opType === 'LayerNormalization' && [-1, (v.shape?.length ?? 0) - 1].includes(p.attr('axis', 'int', -1))) {
      const [scale, bias] = [p.inputs[1], p.inputs[2]];
      if (!perChannelConst(scale, channels) || (bias && !perChannelConst(bias, channels)))
        return 'LayerNormalization with shared or unusual scale/bias';
      return { folds: [...folds, scale, ...(bias ? [bias] : [])], into: p };
    }
    if (p.opType === 'Mul' && p.inputs.length === 2 && constIndex >= 0)
      return { folds: [...folds, p.inputs[constIndex]!], into: p };
    if (p.opType === 'MatMul' && ownFloatConst(p.inputs[1]) && p.inputs[1].const!.dims.at(-1) === channels)
      return { folds: [...folds, p.inputs[1]], into: p };
    if (p.opType === 'Add' && p.inputs.length === 2 && constIndex >= 0) {
      const a = p.inputs[1 - constIndex];
      if (!a || a.const || a.uses().length !== 1 || graph.outputs.includes(a))
        return 'Add whose input has other readers';
      folds.push(p.inputs[constIndex]!);
      v = a;
      continue;
    }
    return p.opType;
  }
}

/** Candidate groups: activations every reader of which is a MatMul/Gemm with its own constant weight. */
function groupsOf(graph: Graph, result: SmoothQuantResult): Group[] {
  const seen = new Set<Value>();
  const groups: Group[] = [];
  for (const node of graph) {
    const x = node.inputs[0];
    if (!x || x.const || seen.has(x) || readerAxis(node, x) === undefined) continue;
    seen.add(x);
    // Shape readers see only the dimensions, which scaling keeps.
    const readers = x
      .uses()
      .map((u) => u.node)
      .filter((n) => n.opType !== 'Shape');
    const skip = (reason: string) => result.skipped.push({ activation: x.name, reason });
    if (graph.outputs.includes(x)) skip('a graph output');
    else if (readers.some((r) => readerAxis(r, x) === undefined))
      skip('read by ops other than MatMul/Gemm with their own constant weights');
    else {
      const w = readers[0].inputs[1]!.const!;
      const channels = w.dims[readerAxis(readers[0], x)!];
      const fold = foldsFor(graph, x, channels);
      if (typeof fold === 'string') skip(`1/s cannot be folded into ${fold}`);
      else groups.push({ x, readers, folds: fold.folds, foldedInto: fold.into, channels });
    }
  }
  return groups;
}

const spread = (r: ArrayLike<number>) => {
  const nz = Array.from(r).filter((v) => v > 0);
  return nz.length ? Math.max(...nz) / Math.min(...nz) : 1;
};

/** Divide the producer-side constants by s (scalars widened to one value per channel); multiply weight rows by s. */
function applyScales(graph: Graph, group: Group, s: Float64Array, edits: WeightEdits): void {
  const channels = s.length;
  for (const r of group.readers) {
    const w = r.inputs[1]!;
    scaleByChannel(edits.data(w), channelIndex(w.const!.dims, readerAxis(r, group.x)!), s);
  }
  const inverse = Float64Array.from(s, (v) => 1 / v);
  for (const c of group.folds) {
    if (c.const!.size === 1) {
      const value = (c.const!.data as Float32Array)[0];
      const t = Tensor.from(
        'float32',
        [channels],
        Float32Array.from(inverse, (v) => value * v),
      );
      const user = c.uses()[0];
      const name = graph.names.value(`${c.name}_smoothed`);
      t.name = name;
      user.node.setInput(user.index, graph.addInitializer(name, t));
    } else {
      const dims = c.const!.dims;
      scaleByChannel(edits.data(c), channelIndex(dims, dims.length - 1), inverse);
    }
  }
}

function checkAlpha(alpha: number): void {
  if (!(typeof alpha === 'number' && alpha >= 0 && alpha <= 1))
    throw new InvalidArgumentError(`smoothQuant alpha must be a number in [0, 1], got ${String(alpha)}`, 'smoothQuant');
}

/**
 * Smooth, in place, every activation of the main graph that only MatMul/Gemm layers with
 * constant weights read and whose producer can absorb the scale; the per-channel maxima are
 * measured on `data` with `backend`.
 *
 * @example
 * ```ts
 * const { smoothed } = await smoothQuant(model, samples, new NodeBackend(), { alpha: 0.5 });
 * console.log(smoothed.map((g) => `${g.activation}: ${g.spreadBefore.toFixed(0)}× → ${g.spreadAfter.toFixed(0)}×`));
 * ```
 */
export async function smoothQuant(
  model: Model,
  data: CalibrationData,
  backend: Backend,
  options: SmoothQuantOptions = {},
): Promise<SmoothQuantResult> {
  const alpha = options.alpha ?? 0.5;
  checkAlpha(alpha);
  const graph = model.graph;
  const result: SmoothQuantResult = { smoothed: [], skipped: [] };
  const groups = groupsOf(graph, result);
  const stats = await channelStatistics(
    model,
    data,
    backend,
    groups.map((g) => ({ name: g.x.name, axis: -1, reduction: 'absMax' as const })),
  );
  const edits = new WeightEdits();
  for (const g of groups) {
    const xMax = stats.get(g.x.name)!;
    if (xMax.length !== g.channels) {
      result.skipped.push({
        activation: g.x.name,
        reason: `${xMax.length} channels on its last axis, the weights expect ${g.channels}`,
      });
      continue;
    }
    const wMax = new Float64Array(xMax.length);
    for (const r of g.readers) {
      const w = r.inputs[1]!;
      const rows = channelAbsMax(edits.data(w), channelIndex(w.const!.dims, readerAxis(r, g.x)!), xMax.length);
      rows.forEach((v, j) => (wMax[j] = Math.max(wMax[j], v)));
    }
    // Channels silent on the samples, or with zero weights, keep their scale.
    const s = Float64Array.from(xMax, (xm, j) =>
      xm > 0 && wMax[j] > 0 ? Math.max(xm, 1e-5) ** alpha / Math.max(wMax[j], 1e-5) ** (1 - alpha) : 1,
    );
    applyScales(graph, g, s, edits);
    result.smoothed.push({
      activation: g.x.name,
      readers: g.readers.map((r) => r.name),
      foldedInto: `${g.foldedInto.opType} '${g.foldedInto.name}'`,
      channels: xMax.length,
      spreadBefore: spread(xMax),
      spreadAfter: spread(Float64Array.from(xMax, (v, j) => v / s[j])),
    });
  }
  edits.commit();
  return result;
}

/**
 * {@link smoothQuant} as a pass; `onResult` receives what it did.
 *
 * @example
 * ```ts
 * await new PassManager([smoothQuantization(samples, backend, { alpha: 0.5 })]).run(model);
 * ```
 */
export function smoothQuantization(
  data: CalibrationData,
  backend: Backend,
  options: SmoothQuantOptions = {},
  onResult?: (result: SmoothQuantResult) => void,
): Pass {
  checkAlpha(options.alpha ?? 0.5);
  return {
    name: 'smooth-quant',
    inPlace: true,
    async run(model) {
      const result = await smoothQuant(model, data, backend, options);
      onResult?.(result);
      return { model, modified: result.smoothed.length > 0 };
    },
  };
}
