/** BatchNormalization: scale, bias, mean and variance are per-channel parameters of its input's groups. */
import { constInput } from './helpers.js';
import type { ChannelRule } from './rule.js';

export const batchNormRule: ChannelRule = {
  propagate(node, context) {
    const x = context.layoutOf(node.inputs[0]);
    if (!x) return;
    for (let input = 1; input <= 4; input++) {
      if (!constInput(node, input)) {
        context.freeze(x, `${context.label(node)} has computed parameters`);
        break;
      }
      context.sliceAlong(x, 'params', node, input, 0);
    }
    for (const segment of x) if ('group' in segment) segment.group.batchNorms.push(node);
    context.setLayout(node.outputs[0], x);
  },
};
