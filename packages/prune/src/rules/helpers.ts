/** What several channel rules share. */
import type { Node, Value } from '@edgeml/core';
import type { ChannelGroup } from '../channel-group.js';
import type { ChannelRuleContext } from './rule.js';

/** Input `index` of `node` when it is a constant (an initializer); computed inputs cannot be sliced. */
export function constInput(node: Node, index: number): Value | undefined {
  const value = node.inputs[index];
  return value?.const ? value : undefined;
}

/** True when `axis` (possibly negative) of a rank-`rank` tensor is the channel axis, 1. */
export const isChannelAxis = (axis: number, rank: number): boolean => (axis < 0 ? axis + rank : axis) === 1;

/** Freeze the channels of every input: the node reads them in a way no rule follows. */
export function freezeInputs(node: Node, context: ChannelRuleContext, reason: string): void {
  for (const value of node.inputs) context.freeze(context.layoutOf(value), reason);
}

/**
 * New channels made by a weight's output axis (Conv, Gemm, MatMul), with the bias at input 2
 * riding along when there is one to slice.
 */
export function outputChannels(
  node: Node,
  context: ChannelRuleContext,
  size: number,
  weightAxis: number,
  withBias: boolean,
): ChannelGroup {
  const group = context.newGroup(size, context.label(node));
  group.sources.push({ node, input: 1, axis: weightAxis, offset: 0, expansion: 1 });
  if (withBias) group.sources.push({ node, input: 2, axis: 0, offset: 0, expansion: 1 });
  return group;
}
