import {
  InvalidArgumentError,
  Model,
  NotApplicableError,
  PassManager,
  deadCodeElimination,
  inferShapes,
  takeAlong,
  seededRandom,
  shapeInference,
  type Node,
} from '@edgeml/core';
import { analyzeChannels, type ChannelAnalysis } from './channel-analysis.js';
import type { ChannelCut, ChannelGroup } from './channel-group.js';
import { planKeeps } from './channel-plan.js';
import { channelImportance, type Criterion } from './importance.js';
import { regroupDepthwise } from './rules/conv.js';
import type { CustomChannelRule } from './rules/registry.js';
import { resizeCut } from './rules/split-slice.js';

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
  /** Channel rules for ops the analysis does not know (see {@link analyzeChannels}). */
  rules?: readonly CustomChannelRule[];
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

/**
 * Structured channel pruning with physical removal: channel groups found by the dependency
 * analysis lose their least important channels in every weight that reads or writes them
 * (Conv output and input channels, BatchNorm, depthwise convolutions, residual Adds, Concat
 * offsets, Flatten → Gemm columns), so the model is smaller and faster on any runtime. Graph
 * outputs keep their shapes. The input model is not modified.
 *
 * @example
 * ```ts
 * const { model: slim, groups, skipped } = await pruneChannels(model, { ratio: 0.5, criterion: 'l1', roundTo: 8 });
 * // An op the analysis does not know freezes what it reads, unless a rule says how it moves channels:
 * await pruneChannels(model, { ratio: 0.5, rules: [{ opType: 'Celu', rule: passThroughRule }] });
 * ```
 */
export async function pruneChannels(model: Model, options: ChannelPruneOptions): Promise<ChannelPruneResult> {
  const { ratio, criterion = 'l1', scope = 'uniform', roundTo = 1 } = options;
  validateChannelOptions(options);
  const work = model.clone();
  inferShapes(work, { strict: false });
  checkLayerOptions(work, options);

  const analysis = analyzeChannels(work, { rules: options.rules });
  const { candidates, skipped } = selectCandidates(analysis, options.exclude ?? []);
  const rand = seededRandom(options.seed ?? 1);
  const scores = new Map(candidates.map((g) => [g, channelImportance(g, criterion, rand)]));
  const plan = planKeeps(scores, {
    ratio,
    scope,
    roundTo,
    perLayer: !!options.layerRatios,
    ratioOf: (g) =>
      producersOf(g)
        .map((p) => options.layerRatios?.[p])
        .find((r) => r !== undefined) ?? ratio,
    nameOf: (g) => producersOf(g).join(', '),
  });

  const groups = removeChannels(work, plan);
  for (const group of plan.keys()) for (const node of new Set(group.depthwise)) regroupDepthwise(node);
  for (const [cut, sizes] of cutSizes(analysis, plan)) resizeCut(work, cut, sizes);
  // Intermediate shapes changed: forget them and infer again (graph inputs and outputs stay).
  for (const g of work.graphs()) {
    const io = new Set([...g.inputs, ...g.outputs]);
    for (const n of g) for (const o of n.outputs) if (!io.has(o)) o.type = undefined;
  }
  await new PassManager([deadCodeElimination(), shapeInference({ strict: false })]).run(work);
  return { model: work, groups, skipped };
}

/** Option checks that need no model: ratio, criterion, rounding. */
export function validateChannelOptions(options: ChannelPruneOptions): void {
  const { ratio, criterion = 'l1', roundTo = 1 } = options;
  if (!(ratio >= 0 && ratio < 1)) throw new InvalidArgumentError(`ratio must be in [0, 1), got ${ratio}`, 'ratio');
  if (!['l1', 'l2', 'bn', 'random'].includes(criterion))
    throw new InvalidArgumentError(`criterion must be l1, l2, bn or random, got '${criterion}'`, 'criterion');
  if (!Number.isInteger(roundTo) || roundTo < 1)
    throw new InvalidArgumentError(`roundTo must be a positive integer, got ${roundTo}`, 'roundTo');
}

/** Named nodes must exist (checked on the model, so after the options that need none). */
function checkLayerOptions(model: Model, options: ChannelPruneOptions): void {
  const names = new Set([...model.graphs()].flatMap((g) => [...g].map((n) => n.name)));
  for (const n of [...(options.exclude ?? []), ...Object.keys(options.layerRatios ?? {})])
    if (!names.has(n)) throw new InvalidArgumentError(`the model has no node '${n}'`, 'exclude');
  for (const [n, r] of Object.entries(options.layerRatios ?? {}))
    if (!(r >= 0 && r < 1))
      throw new InvalidArgumentError(`layerRatios['${n}'] must be in [0, 1), got ${r}`, 'layerRatios');
}

/** The prunable groups not excluded, and what is skipped with why; no prunable group at all is an error. */
function selectCandidates(
  analysis: ChannelAnalysis,
  exclude: readonly string[],
): { candidates: ChannelGroup[]; skipped: ChannelPruneResult['skipped'] } {
  const skipped = analysis.frozen
    .filter((f) => f.group.sources.length)
    .map((f) => ({ name: producersOf(f.group).join(', '), reason: f.reason }));
  const candidates = analysis.prunable.filter((g) => {
    const excluded = producersOf(g).find((p) => exclude.includes(p));
    if (excluded) skipped.push({ name: producersOf(g).join(', '), reason: `node '${excluded}' is excluded` });
    return !excluded;
  });
  if (!analysis.prunable.length) {
    if (skipped.length)
      throw new NotApplicableError(
        `the model has no prunable channel groups: ${skipped.map((s) => `${s.name} (${s.reason})`).join('; ')}`,
        'prune channel',
      );
    throw new NotApplicableError(
      'the model has no prunable channel groups (no Conv, Gemm or MatMul with constant weights)',
      'prune channel',
    );
  }
  return { candidates, skipped };
}

/** Slice every constant of every planned group to its kept channels; one report per group. */
function removeChannels(work: Model, plan: Map<ChannelGroup, number[]>): GroupReport[] {
  const reports: GroupReport[] = [];
  // Removals are gathered per tensor first: one tensor can hold several groups' channels
  // (a depthwise weight after a Concat), and every offset refers to the original layout.
  const removals = new Map<string, { node: Node; input: number; axis: number; removed: Set<number> }>();
  const nodeIds = new Map([...work.graphs()].flatMap((g) => g.nodes).map((n, i) => [n, i]));
  for (const [group, kept] of plan) {
    reports.push({ producers: producersOf(group), channelsBefore: group.size, channelsAfter: kept.length });
    if (kept.length === group.size) continue;
    const keptSet = new Set(kept);
    for (const slice of [...group.sources, ...group.params, ...group.consumers]) {
      const key = `${nodeIds.get(slice.node)}|${slice.input}|${slice.axis}`;
      const { node, input, axis } = slice;
      const entry = removals.get(key) ?? { node, input, axis, removed: new Set<number>() };
      // Grouped-convolution readers index a channel by its position within its group.
      for (let c = 0; c < group.size; c++)
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
    const graph = node.graph!;
    node.setInput(input, graph.addInitializer(graph.uniqueName(`${v.name}_pruned`), takeAlong(t, axis, keep)));
  }
  return reports;
}

/**
 * The new sizes of every Split and Slice on channels: each part keeps what the plan keeps of
 * it, and a part cut again (a Slice of a Split output) what its own parts keep.
 */
function cutSizes(analysis: ChannelAnalysis, plan: Map<ChannelGroup, number[]>): Map<ChannelCut, number[]> {
  const keptOf = (part: ChannelGroup): number =>
    part.parts ? part.parts.reduce((n, p) => n + keptOf(p), 0) : (plan.get(part.root())?.length ?? part.size);
  const cuts = new Map<Node, ChannelCut>();
  for (const group of analysis.groups) for (const cut of group.cuts) cuts.set(cut.node, cut);
  return new Map([...cuts.values()].map((cut) => [cut, cut.parts.map(keptOf)]));
}

function producersOf(group: ChannelGroup): string[] {
  return [...new Set(group.sources.map((s) => s.node.name))];
}
