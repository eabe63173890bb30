/**
 * Conv: its weight [M, C/group, k…] makes M new channels and reads its input's channels on
 * axis 1. A depthwise convolution (group = C = M) instead carries channel c to channel c, and a
 * grouped one reads and writes its channels position by position in every group.
 */
import type { Node, Tensor } from '@edgeml/core';
import { layoutSize, soleGroup, type ChannelLayout } from '../channel-group.js';
import { constInput, outputChannels } from './helpers.js';
import type { ChannelRule, ChannelRuleContext } from './rule.js';

export const convRule: ChannelRule = {
  propagate(node, context) {
    const x = context.layoutOf(node.inputs[0]);
    const weight = constInput(node, 1)?.const;
    if (!weight || weight.dims.length < 3) {
      context.freeze(x, `${context.label(node)} has a computed weight`);
      return;
    }
    const group = node.attr('group', 'int', 1);
    const [outChannels, perGroup] = weight.dims;
    if (group === 1) plainConv(node, context, x, outChannels);
    else if (x && perGroup === 1 && outChannels === layoutSize(x) && group === outChannels)
      depthwiseConv(node, context, x);
    else if (!groupedConv(node, context, x, weight, group))
      context.freeze(
        x,
        `grouped convolution ${context.label(node)} (group ${group}) reads channels it cannot keep in equal groups`,
      );
  },
};

function plainConv(node: Node, context: ChannelRuleContext, x: ChannelLayout | undefined, outChannels: number): void {
  if (x) {
    // Weight columns are per input channel; an expanded channel (after Flatten) is not one column.
    if (x.some((s) => s.expansion !== 1)) context.freeze(x, `${context.label(node)} reads expanded channels`);
    else context.sliceAlong(x, 'consumers', node, 1, 1);
  }
  const made = outputChannels(node, context, outChannels, 0, !!constInput(node, 2));
  context.setLayout(node.outputs[0], [{ group: made, expansion: 1 }]);
}

/** Channel c in, channel c out: the weight and bias are per-channel parameters of the input's groups. */
function depthwiseConv(node: Node, context: ChannelRuleContext, x: ChannelLayout): void {
  context.sliceAlong(x, 'params', node, 1, 0);
  if (constInput(node, 2)) context.sliceAlong(x, 'params', node, 2, 0);
  for (const segment of x) if ('group' in segment) segment.group.depthwise.push(node);
  // `group` must equal the channel count, which a fixed segment would keep from shrinking evenly.
  if (x.some((s) => !('group' in s))) context.freeze(x, `${context.label(node)} mixes fixed and prunable channels`);
  context.setLayout(node.outputs[0], x);
}

/**
 * Input and output channels go position by position in every group, so the groups stay equal
 * and the weight loses the same input positions in each. False when the input is not one group
 * of C = group·(C/group) channels.
 */
function groupedConv(
  node: Node,
  context: ChannelRuleContext,
  x: ChannelLayout | undefined,
  weight: Tensor,
  group: number,
): boolean {
  const [outChannels, perGroup] = weight.dims;
  const input = soleGroup(x)?.root();
  if (!input || outChannels % group !== 0 || perGroup * group !== input.size) return false;
  if (input.convolutionGroups !== 1 && input.convolutionGroups !== group) {
    input.frozen ??= `${context.label(node)} groups its channels by ${group}, another reader by ${input.convolutionGroups}`;
    return true;
  }
  input.convolutionGroups = group;
  input.consumers.push({ node, input: 1, axis: 1, offset: 0, expansion: 1, modulo: perGroup });
  const made = outputChannels(node, context, outChannels, 0, !!constInput(node, 2));
  made.convolutionGroups = group;
  context.setLayout(node.outputs[0], [{ group: made, expansion: 1 }]);
  return true;
}

/** After pruning: a depthwise convolution's `group` is its (new) channel count. */
export function regroupDepthwise(node: Node): void {
  node.setAttr('group', 'int', node.inputs[1]!.const!.dims[0]);
}
