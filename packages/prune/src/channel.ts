import {
  InvalidArgumentError,
  Model,
  PassManager,
  Tensor,
  deadCodeElimination,
  inferShapes,
  takeAlong,
  seededRandom,
  shapeInference,
  type Node,
} from '@edgeml/core';
import { analyzeChannels, type ChannelSlice, type Space } from './dependency.js';

/** How channels are ranked: weight norms, BatchNorm scale |γ|, or at random (a baseline). */
export type Criterion = 'l1' | 'l2' | 'bn' | 'random';

export interface ChannelPruneOptions {
  /** Share of channels to remove, in [0, 1). */
  ratio: number;
  criterion?: Criterion;
  /** 'uniform': the same share of every group; 'global': one threshold across groups (importances normalised per group). */
  scope?: 'uniform' | 'global';
  /** Ratios for the groups a named node produces (e.g. `{ conv1: 0.25 }`). */
  layerRatios?: Record<string, number>;
  /** Keep channel counts multiples of this (e.g. 8 for SIMD-friendly kernels). */
  roundTo?: number;
  /** Nodes whose output channels stay (by name). */
  exclude?: string[];
  /** Seed of the random criterion. */
  seed?: number;
}

/** One channel group's outcome. */
export interface GroupReport {
  /** The nodes producing these channels (their output channels shrink together). */
  producers: string[];
  channelsBefore: number;
  channelsAfter: number;
}

export interface ChannelPruneResult {
  model: Model;
  groups: GroupReport[];
  /** Channel groups left alone, with the reason. */
  skipped: { name: string; reason: string }[];
}

function norm(t: Tensor, src: Float64Array, slice: ChannelSlice, channel: number, p: 1 | 2): number {
  const dims = t.dims,
    axis = slice.axis;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1),
    outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  let s = 0;
  for (let o = 0; o < outer; o++) {
    for (let e = 0; e < slice.expansion; e++) {
      const base = (o * dims[axis] + slice.offset + channel * slice.expansion + e) * inner;
      for (let i = 0; i < inner; i++) s += p === 1 ? Math.abs(src[base + i]) : src[base + i] ** 2;
    }
  }
  return p === 1 ? s : Math.sqrt(s);
}

/** Importance of each channel of a group (higher = keep). */
export function channelImportance(space: Space, criterion: Criterion, rand: () => number): Float64Array {
  const scores = new Float64Array(space.size);
  if (criterion === 'random') return scores.map(() => rand());
  if (criterion === 'bn' && space.batchNorms.length) {
    for (const bn of space.batchNorms) {
      const gamma = bn.inputs[1]!.const!.toFloat64();
      const slice = space.params.find((p) => p.node === bn && p.input === 1)!;
      for (let c = 0; c < space.size; c++) scores[c] += Math.abs(gamma[slice.offset + c]);
    }
    return scores;
  }
  for (const src of space.sources) {
    if (src.input !== 1) continue;
    const t = src.node.inputs[1]!.const!;
    // Widened once per weight, not once per channel.
    const values = t.toFloat64();
    for (let c = 0; c < space.size; c++)
      scores[c] += norm(t, values, src, c, criterion === 'l2' ? 2 : 1) / (t.size / t.dims[src.axis]);
  }
  return scores;
}

function keepCount(size: number, ratio: number, roundTo: number): number {
  let keep = Math.max(1, Math.round(size * (1 - ratio)));
  if (roundTo > 1) keep = Math.min(size, Math.max(roundTo, Math.round(keep / roundTo) * roundTo));
  return keep;
}

/**
 * Structured channel pruning with physical removal: channel groups found by the dependency
 * analysis lose their least important channels in every weight that reads or writes them
 * (Conv output and input channels, BatchNorm, depthwise convolutions, residual Adds, Concat
 * offsets, Flatten → Gemm columns), so the model is smaller and faster on any runtime. Graph
 * outputs keep their shapes. The input model is not modified.
 *
 * @example
 * ```ts
 * const { model: slim, groups, skipped } = pruneChannels(model, { ratio: 0.5, criterion: 'l1', roundTo: 8 });
 * ```
 */
export async function pruneChannels(model: Model, options: ChannelPruneOptions): Promise<ChannelPruneResult> {
  const { ratio, criterion = 'l1', scope = 'uniform', roundTo = 1 } = options;
  if (!(ratio >= 0 && ratio < 1)) throw new InvalidArgumentError(`ratio must be in [0, 1), got ${ratio}`, 'ratio');
  if (!['l1', 'l2', 'bn', 'random'].includes(criterion))
    throw new InvalidArgumentError(`criterion must be l1, l2, bn or random, got '${criterion}'`, 'criterion');
  if (!Number.isInteger(roundTo) || roundTo < 1)
    throw new InvalidArgumentError(`roundTo must be a positive integer, got ${roundTo}`, 'roundTo');
  const work = model.clone();
  inferShapes(work, { strict: false });
  const names = new Set([...work.graph].map((n) => n.name));
  for (const n of [...(options.exclude ?? []), ...Object.keys(options.layerRatios ?? {})])
    if (!names.has(n)) throw new InvalidArgumentError(`the model has no node '${n}'`, 'exclude');
  for (const [n, r] of Object.entries(options.layerRatios ?? {}))
    if (!(r >= 0 && r < 1))
      throw new InvalidArgumentError(`layerRatios['${n}'] must be in [0, 1), got ${r}`, 'layerRatios');

  const deps = analyzeChannels(work);
  const skipped = deps.frozen
    .filter((f) => f.space.sources.length)
    .map((f) => ({ name: producersOf(f.space).join(', '), reason: f.reason }));
  const candidates = deps.prunable.filter((s) => {
    const excluded = producersOf(s).find((p) => options.exclude?.includes(p));
    if (excluded) skipped.push({ name: producersOf(s).join(', '), reason: `node '${excluded}' is excluded` });
    return !excluded;
  });
  if (!candidates.length && !deps.prunable.length)
    throw new InvalidArgumentError(
      `the model has no prunable channel groups${skipped.length ? `: ${skipped.map((s) => `${s.name} (${s.reason})`).join('; ')}` : ' (no Conv, Gemm or MatMul with constant weights)'}`,
      'model',
    );

  const rand = seededRandom(options.seed ?? 1);
  const scores = new Map(candidates.map((s) => [s, channelImportance(s, criterion, rand)]));
  const plan = new Map<Space, number[]>();
  const ratioOf = (s: Space) => {
    const named = producersOf(s)
      .map((p) => options.layerRatios?.[p])
      .find((r) => r !== undefined);
    return named ?? ratio;
  };
  if (scope === 'global' && !options.layerRatios) {
    // One threshold over importances normalised by each group's mean, so layers of different scales compete fairly.
    const all: { s: Space; c: number; v: number }[] = [];
    for (const [s, sc] of scores) {
      const mean = sc.reduce((a, b) => a + b, 0) / sc.length || 1;
      sc.forEach((v, c) => all.push({ s, c, v: v / mean }));
    }
    all.sort((a, b) => a.v - b.v);
    const removeSet = new Set(all.slice(0, Math.floor(all.length * ratio)).map((e) => `${e.s.id}:${e.c}`));
    for (const [s, sc] of scores) {
      const survivorsN = [...Array(s.size).keys()].filter((c) => !removeSet.has(`${s.id}:${c}`)).length;
      if (survivorsN === 0)
        throw new InvalidArgumentError(
          `under one global threshold, ${producersOf(s).join(', ')} would lose all ${s.size} of its channels; lower the ratio, exclude it, or use scope 'uniform'`,
          'ratio',
        );
      plan.set(
        s,
        s.groups > 1
          ? groupedKeep(s, sc, 1 - survivorsN / s.size)
          : topK(sc, keepCount(s.size, 1 - survivorsN / s.size, roundTo)),
      );
    }
  } else {
    for (const [s, sc] of scores)
      plan.set(s, s.groups > 1 ? groupedKeep(s, sc, ratioOf(s)) : topK(sc, keepCount(s.size, ratioOf(s), roundTo)));
  }

  const groups: GroupReport[] = [];
  // Removals are gathered per tensor first: one tensor can hold several groups' channels
  // (a depthwise weight after a Concat), and every offset refers to the original layout.
  const removals = new Map<string, { node: Node; input: number; axis: number; removed: Set<number> }>();
  const nodeIds = new Map(work.graph.nodes.map((n, i) => [n, i]));
  for (const [space, kept] of plan) {
    groups.push({ producers: producersOf(space), channelsBefore: space.size, channelsAfter: kept.length });
    if (kept.length === space.size) continue;
    const keptSet = new Set(kept);
    for (const slice of [...space.sources, ...space.params, ...space.consumers]) {
      const key = `${nodeIds.get(slice.node)}|${slice.input}|${slice.axis}`;
      const entry = removals.get(key) ?? {
        node: slice.node,
        input: slice.input,
        axis: slice.axis,
        removed: new Set<number>(),
      };
      // Grouped-convolution readers index a channel by its position within its group.
      for (let c = 0; c < space.size; c++)
        if (!keptSet.has(c))
          for (let e = 0; e < slice.expansion; e++)
            entry.removed.add(slice.offset + (slice.modulo ? c % slice.modulo : c) * slice.expansion + e);
      removals.set(key, entry);
    }
  }
  for (const { node, input, axis, removed } of removals.values()) {
    const v = node.inputs[input]!;
    const t = v.const!;
    const keep = Array.from({ length: t.dims[axis] }, (_, i) => i).filter((i) => !removed.has(i));
    // A weight shared by several readers is copied, so each reader gets its own slice.
    node.setInput(
      input,
      work.graph.addInitializer(work.graph.uniqueName(`${v.name}_pruned`), takeAlong(t, axis, keep)),
    );
  }
  for (const space of plan.keys())
    for (const dw of new Set(space.depthwise)) dw.setAttr('group', 'int', dw.inputs[1]!.const!.dims[0]);
  // Splits and Slices on the channel axis take the new sizes of the parts they cut.
  // A part cut again (a Slice of a Split output) keeps what its own parts keep.
  const keptOf = (part: Space): number =>
    part.parts ? part.parts.reduce((n, p) => n + keptOf(p), 0) : (plan.get(part.root())?.length ?? part.size);
  const cuts = new Map<Node, { parts: Space[]; index: number }>();
  for (const space of deps.spaces) for (const cut of space.cuts) cuts.set(cut.node, cut);
  for (const [node, cut] of cuts) {
    const sizes = cut.parts.map(keptOf);
    if (node.opType === 'Split') {
      if (work.opset() !== undefined && work.opset()! >= 13)
        node.setInput(
          1,
          work.graph.addInitializer(
            work.graph.uniqueName(`${node.name || 'split'}_sizes`),
            Tensor.from('int64', [sizes.length], sizes.map(BigInt)),
          ),
        );
      else node.setAttr('split', 'ints', sizes);
      node.attributes.delete('num_outputs');
    } else {
      const start = sizes.slice(0, cut.index).reduce((a, b) => a + b, 0);
      const rank = node.inputs[0]!.shape?.length ?? 4;
      const axes = node.inputs[3]?.const?.toNumbers();
      const at = axes ? axes.findIndex((a) => (a < 0 ? a + rank : a) === 1) : 1;
      const set = (i: number, value: number) => {
        const values = node.inputs[i]!.const!.toNumbers();
        values[at] = value;
        node.setInput(
          i,
          work.graph.addInitializer(
            work.graph.uniqueName(`${node.name || 'slice'}_${i === 1 ? 'starts' : 'ends'}`),
            Tensor.from(node.inputs[i]!.const!.dtype as 'int64', [values.length], values.map(BigInt)),
          ),
        );
      };
      set(1, start);
      set(2, start + sizes[cut.index]);
    }
  }
  // Intermediate shapes changed: forget them and infer again (graph inputs and outputs stay).
  const io = new Set([...work.graph.inputs, ...work.graph.outputs]);
  for (const n of work.graph) for (const o of n.outputs) if (!io.has(o)) o.type = undefined;
  await new PassManager([deadCodeElimination(), shapeInference({ strict: false })]).run(work);
  return { model: work, groups, skipped };
}

/** Grouped channels go by position: rank positions by their importance summed over the groups, keep the same positions in every group. */
function groupedKeep(space: Space, scores: Float64Array, ratio: number): number[] {
  const per = space.size / space.groups;
  const byPosition = new Float64Array(per);
  for (let c = 0; c < space.size; c++) byPosition[c % per] += scores[c];
  const positions = topK(byPosition, Math.max(1, Math.round(per * (1 - ratio))));
  return Array.from({ length: space.groups }, (_, g) => positions.map((p) => g * per + p))
    .flat()
    .sort((a, b) => a - b);
}

function topK(scores: Float64Array, k: number): number[] {
  return Array.from(scores.keys())
    .sort((a, b) => scores[b] - scores[a] || a - b)
    .slice(0, k)
    .sort((a, b) => a - b);
}

function producersOf(space: Space): string[] {
  return [...new Set(space.sources.map((s: ChannelSlice) => s.node.name))];
}
