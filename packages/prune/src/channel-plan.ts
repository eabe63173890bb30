/** Which channels of each group stay: a share per group, or one threshold across groups. */
import { InvalidArgumentError } from '@edgeml/core';
import type { ChannelGroup } from './channel-group.js';

/** How many channels to remove, group by group. */
export interface PlanOptions {
  ratio: number;
  scope: 'uniform' | 'global';
  roundTo: number;
  /** The ratio of a group (a per-layer ratio, or `ratio`). */
  ratioOf: (group: ChannelGroup) => number;
  /** One threshold across groups cannot honour per-layer ratios, so they turn it off. */
  perLayer: boolean;
  /** How reports name a group. */
  nameOf: (group: ChannelGroup) => string;
}

/** The kept channels of every scored group, sorted. */
export function planKeeps(scores: Map<ChannelGroup, Float64Array>, options: PlanOptions): Map<ChannelGroup, number[]> {
  const plan = new Map<ChannelGroup, number[]>();
  const ratios = options.scope === 'global' && !options.perLayer ? globalRatios(scores, options) : undefined;
  for (const [group, groupScores] of scores) {
    const ratio = ratios?.get(group) ?? options.ratioOf(group);
    plan.set(
      group,
      group.convolutionGroups > 1
        ? groupedKeep(group, groupScores, ratio)
        : topK(groupScores, keepCount(group.size, ratio, options.roundTo)),
    );
  }
  return plan;
}

/**
 * Each group's share under one threshold over importances normalised by the group's mean, so
 * layers of different scales compete fairly.
 */
function globalRatios(scores: Map<ChannelGroup, Float64Array>, options: PlanOptions): Map<ChannelGroup, number> {
  const all: { group: ChannelGroup; channel: number; value: number }[] = [];
  for (const [group, groupScores] of scores) {
    const mean = groupScores.reduce((a, b) => a + b, 0) / groupScores.length || 1;
    groupScores.forEach((v, channel) => all.push({ group, channel, value: v / mean }));
  }
  all.sort((a, b) => a.value - b.value);
  const removed = new Map<ChannelGroup, number>();
  for (const { group } of all.slice(0, Math.floor(all.length * options.ratio)))
    removed.set(group, (removed.get(group) ?? 0) + 1);
  const ratios = new Map<ChannelGroup, number>();
  for (const group of scores.keys()) {
    const survivors = group.size - (removed.get(group) ?? 0);
    if (survivors === 0)
      throw new InvalidArgumentError(
        `under one global threshold, ${options.nameOf(group)} would lose all ${group.size} of its channels; lower the ratio, exclude it, or use scope 'uniform'`,
        'ratio',
      );
    ratios.set(group, 1 - survivors / group.size);
  }
  return ratios;
}

function keepCount(size: number, ratio: number, roundTo: number): number {
  let keep = Math.max(1, Math.round(size * (1 - ratio)));
  if (roundTo > 1) keep = Math.min(size, Math.max(roundTo, Math.round(keep / roundTo) * roundTo));
  return keep;
}

/** Grouped channels go by position: rank positions by their importance summed over the groups, keep the same positions in every group. */
function groupedKeep(group: ChannelGroup, scores: Float64Array, ratio: number): number[] {
  const per = group.size / group.convolutionGroups;
  const byPosition = new Float64Array(per);
  for (let c = 0; c < group.size; c++) byPosition[c % per] += scores[c];
  const positions = topK(byPosition, Math.max(1, Math.round(per * (1 - ratio))));
  return Array.from({ length: group.convolutionGroups }, (_, g) => positions.map((p) => g * per + p))
    .flat()
    .sort((a, b) => a - b);
}

function topK(scores: Float64Array, k: number): number[] {
  return Array.from(scores.keys())
    .sort((a, b) => scores[b] - scores[a] || a - b)
    .slice(0, k)
    .sort((a, b) => a - b);
}
