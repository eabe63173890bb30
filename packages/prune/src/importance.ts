/** How much each channel of a group matters, by the weights that make it. */
import type { Tensor } from '@edgeml/core';
import type { ChannelGroup, ChannelSlice } from './channel-group.js';

/** How channels are ranked: weight norms, BatchNorm scale |γ|, or at random (a baseline). */
export type Criterion = 'l1' | 'l2' | 'bn' | 'random';

function norm(t: Tensor, values: Float64Array, slice: ChannelSlice, channel: number, p: 1 | 2): number {
  const dims = t.dims,
    axis = slice.axis;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1),
    outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  let s = 0;
  for (let o = 0; o < outer; o++) {
    for (let e = 0; e < slice.expansion; e++) {
      const base = (o * dims[axis] + slice.offset + channel * slice.expansion + e) * inner;
      for (let i = 0; i < inner; i++) s += p === 1 ? Math.abs(values[base + i]) : values[base + i] ** 2;
    }
  }
  return p === 1 ? s : Math.sqrt(s);
}

/**
 * Importance of each channel of a group (higher = keep): the norm of its producing weights'
 * slices, each divided by the slice's element count so weights of different sizes weigh alike;
 * the BatchNorm scale |γ| summed over the group's BatchNorms for 'bn' (weight norms without one).
 *
 * @example
 * ```ts
 * const scores = channelImportance(analysis.prunable[0], 'l2', seededRandom(1));
 * ```
 */
export function channelImportance(group: ChannelGroup, criterion: Criterion, rand: () => number): Float64Array {
  const scores = new Float64Array(group.size);
  if (criterion === 'random') return scores.map(() => rand());
  if (criterion === 'bn' && group.batchNorms.length) {
    for (const bn of group.batchNorms) {
      const gamma = bn.inputs[1]!.const!.toFloat64();
      const slice = group.params.find((p) => p.node === bn && p.input === 1)!;
      for (let c = 0; c < group.size; c++) scores[c] += Math.abs(gamma[slice.offset + c]);
    }
    return scores;
  }
  for (const source of group.sources) {
    if (source.input !== 1) continue;
    const t = source.node.inputs[1]!.const!;
    // Widened once per weight, not once per channel.
    const values = t.toFloat64();
    for (let c = 0; c < group.size; c++)
      scores[c] += norm(t, values, source, c, criterion === 'l2' ? 2 : 1) / (t.size / t.dims[source.axis]);
  }
  return scores;
}
