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

/**
 * True when the pads (input 1 from opset 11, else the attribute) leave axes 0 and 1 alone. From
 * opset 18 the `axes` input says which axes the pads are for; axes it leaves out are not padded.
 */
export function padsSpareChannels(node: Node): boolean {
  const pads = node.inputs[1]?.const?.toNumbers() ?? node.attr('pads', 'ints');
  if (!pads || pads.length % 2) return false;
  const count = pads.length / 2;
  const axesInput = node.inputs[3];
  if (axesInput && !axesInput.const) return false;
  const rank = node.inputs[0]?.shape?.length;
  const axes = axesInput?.const?.toNumbers() ?? (count >= 2 ? [...Array(count).keys()] : undefined);
  if (!axes || axes.length !== count || (axes.some((a) => a < 0) && rank === undefined)) return false;
  return axes.every((a, i) => {
    const axis = a < 0 ? a + rank! : a;
    return axis > 1 || (pads[i] === 0 && pads[i + count] === 0);
  });
}
