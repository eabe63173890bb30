/**
 * The records of the channel analysis: a {@link ChannelGroup} is a set of channels that must be
 * removed together, and a {@link ChannelLayout} says which groups a tensor's channel axis holds.
 */
import type { Node } from '@edgeml/core';

/**
 * Where channel c of a group lives in a constant: a weight, a per-channel parameter, a reader's
 * weight. Channel c covers indices `offset + c·expansion … offset + c·expansion + expansion − 1`
 * along `axis` (with `c mod modulo` in place of c when `modulo` is set).
 */
export interface ChannelSlice {
  node: Node;
  /** The node input holding the constant to slice. */
  input: number;
  axis: number;
  /** Offset of this group's channels along the axis (Concat), and features per channel (Flatten). */
  offset: number;
  expansion: number;
  /** Grouped convolution input: channel c sits at index c mod `modulo` (its position within its group). */
  modulo?: number;
}

/** A Split or Slice that cuts a group along the channel axis; its sizes follow the kept channels. */
export interface ChannelCut {
  node: Node;
  /** The consecutive parts the cut made, and which one this group is (a Split output, or a Slice's kept range). */
  parts: ChannelGroup[];
  index: number;
}

/**
 * Channels that must go together: removing channel c from one tensor of the group means removing
 * it from every slice the group lists. Groups tied by an elementwise op are united (union-find);
 * only a {@link ChannelGroup.root | root} carries the merged lists once the analysis is done.
 *
 * @example
 * ```ts
 * const { prunable } = analyzeChannels(model);
 * for (const group of prunable) console.log(group.origin, group.size, group.sources.length);
 * ```
 */
export class ChannelGroup {
  parent: ChannelGroup = this;
  /** Why the group is left alone; the first reason found sticks. */
  frozen?: string;
  /** Where the channels are made: output channels of Conv/Gemm/MatMul weights and their biases. */
  readonly sources: ChannelSlice[] = [];
  /** Per-channel parameters riding along (BatchNorm, depthwise weights, broadcast constants). */
  readonly params: ChannelSlice[] = [];
  /** Readers' weights indexed by these channels (next Conv's input channels, Gemm columns). */
  readonly consumers: ChannelSlice[] = [];
  /** Depthwise convolutions whose `group` attribute follows this group's size. */
  readonly depthwise: Node[] = [];
  /** BatchNorm nodes over these channels (for the BN-scale criterion). */
  readonly batchNorms: Node[] = [];
  /**
   * The channels come in this many equal convolution groups and go position by position in every
   * one (a grouped convolution reads or writes them), so each loses the same positions.
   */
  convolutionGroups = 1;
  /** Split outputs or Slices made of exactly these channels. */
  readonly cuts: ChannelCut[] = [];
  /** Replaced by these parts (a Split or Slice cut it); the parts carry its slices. */
  parts?: ChannelGroup[];
  constructor(
    readonly id: number,
    readonly size: number,
    /** The node that made the channels, for messages (e.g. `Conv 'stem'`). */
    readonly origin: string,
  ) {}
  /** The group this one was united into (itself when it is a root). */
  root(): ChannelGroup {
    return this.parent === this ? this : this.parent.root();
  }
}

/** A run of channels on a tensor's channel axis: a group's channels, or `fixed` channels that cannot move. */
export type ChannelSegment = { group: ChannelGroup; expansion: number } | { fixed: number; expansion: number };

/**
 * A tensor's channel axis as segments laid end to end (Concat joins several groups); `expansion`
 * is how many consecutive features each channel became (Flatten turns a channel into H·W).
 */
export type ChannelLayout = readonly ChannelSegment[];

/** Channels a segment covers (before expansion). */
export const segmentSize = (segment: ChannelSegment): number =>
  'group' in segment ? segment.group.size : segment.fixed;

/** Channels a layout covers (before expansion). */
export const layoutSize = (layout: ChannelLayout): number => layout.reduce((n, s) => n + segmentSize(s), 0);

/** The group of a layout that is exactly one unexpanded group, the shape Split, Slice and grouped Conv can follow. */
export function soleGroup(layout: ChannelLayout | undefined): ChannelGroup | undefined {
  const [only] = layout ?? [];
  return layout?.length === 1 && 'group' in only && only.expansion === 1 ? only.group : undefined;
}
