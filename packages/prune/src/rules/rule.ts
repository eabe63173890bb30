/**
 * The contract between the channel analysis and the per-op rules (Torch-Pruning's per-layer
 * pruners, on ONNX): the analysis walks the graph in order and hands each node to its op's rule,
 * which says how channels flow from the node's inputs to its outputs.
 */
import type { Node, Value } from '@edgeml/core';
import type { ChannelGroup, ChannelLayout } from '../channel-group.js';

/** Which list of a group a constant joins: per-channel parameters, or readers' weights. */
export type SliceKind = 'params' | 'consumers';

/**
 * What a rule can do to the analysis. Layouts describe the channel axis (axis 1) of a tensor;
 * a value without one carries no prunable channels.
 */
export interface ChannelRuleContext {
  /**
   * The layout of one of the node's inputs (or any value), undefined when no prunable channels
   * reach it. Reading an input is taking charge of it: inputs with a layout that the rule never
   * read are frozen after it runs, so a rule cannot let channels slip by unnoticed.
   */
  layoutOf(value: Value | undefined): ChannelLayout | undefined;
  /** Give an output a layout: its channel axis holds these channels, in this order. */
  setLayout(value: Value, layout: ChannelLayout): void;
  /** New channels, made by this node (a weight's output channels); record their `sources` on the group. */
  newGroup(size: number, origin: string): ChannelGroup;
  /** Leave every group of the layout alone, with why (the first reason a group gets sticks). */
  freeze(layout: ChannelLayout | undefined, reason: string): void;
  /** Channels that must go together (a residual Add): groups of different sizes freeze instead. */
  unite(a: ChannelGroup, b: ChannelGroup, reason: string): void;
  /**
   * Constant input `input` of `node` is indexed by the layout's channels along `axis`: each group
   * of the layout gets a slice at its offset, with its expansion.
   */
  sliceAlong(layout: ChannelLayout, kind: SliceKind, node: Node, input: number, axis: number): void;
  /**
   * Cut a group into consecutive parts (Split, Slice) whose sizes sum to its size; each part
   * prunes on its own and every layout naming the group names the parts. Undefined (and the
   * group frozen) when the group is tied to others or grouped.
   */
  cut(group: ChannelGroup, sizes: readonly number[], where: string): ChannelGroup[] | undefined;
  /** How messages name a node: `Conv 'stem'`. */
  label(node: Node): string;
}

/**
 * How one op moves channels. `propagate` reads the layouts of the node's inputs and sets those
 * of its outputs, records every constant that must lose channels with them (sources, params,
 * consumers) and freezes what it cannot follow, saying why. An output left without a layout
 * carries no prunable channels. A rule only describes channels held in constant inputs: an op
 * whose attributes count channels cannot be followed by a rule (freeze instead).
 *
 * @example
 * ```ts
 * // An activation that keeps every channel where it is (what passThroughRule does):
 * const myActivation: ChannelRule = {
 *   propagate(node, context) {
 *     const layout = context.layoutOf(node.inputs[0]);
 *     if (layout) context.setLayout(node.outputs[0], layout);
 *   },
 * };
 * ```
 */
export interface ChannelRule {
  propagate(node: Node, context: ChannelRuleContext): void;
}
