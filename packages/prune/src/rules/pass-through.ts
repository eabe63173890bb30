/**
 * Ops that keep every channel where it is (activations, pools, Cast, Identity, Dropout) and Pad
 * when it pads neither the batch nor the channel axis.
 */
import type { Node } from '@edgeml/core';
import { freezeInputs } from './helpers.js';
import type { ChannelRule } from './rule.js';

/**
 * The rule of ops whose first output has the channels of their first input, in order; other
 * inputs (Clip's bounds, Dropout's ratio) must not carry channels. Fits custom activations too.
 */
export const passThroughRule: ChannelRule = {
  propagate(node, context) {
    const x = context.layoutOf(node.inputs[0]);
    if (x) context.setLayout(node.outputs[0], x);
    for (const value of node.inputs.slice(1))
      context.freeze(context.layoutOf(value), `${context.label(node)} reads it as a parameter`);
  },
};

/** Pad passes channels through when it pads only the spatial axes; otherwise it adds channels no group has. */
export const padRule: ChannelRule = {
  propagate(node, context) {
    if (padsSpareChannels(node)) passThroughRule.propagate(node, context);
    else freezeInputs(node, context, `${context.label(node)} reads it`);
  },
};

/** True when the pads (input 1 from opset 11, else the attribute) leave axes 0 and 1 alone. */
export function padsSpareChannels(node: Node): boolean {
  const pads = node.inputs[1]?.const?.toNumbers() ?? node.attr('pads', 'ints');
  if (!pads || pads.length < 4) return false;
  const rank = pads.length / 2;
  return pads[0] === 0 && pads[rank] === 0 && pads[1] === 0 && pads[rank + 1] === 0;
}
