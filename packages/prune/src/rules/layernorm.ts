/**
 * LayerNormalization over the channel axis of a [N, C] tensor (a Gemm's or MatMul's features, as
 * PyTorch MLPs and transformer blocks normalise them): scale and bias are per-channel parameters.
 * Removing channels changes the statistics the remaining ones are normalised with, as in
 * Torch-Pruning's LayerNorm pruner: the pruned network is an approximation to fine-tune, not an
 * exact copy. Normalised over anything else (the last axis of an [N, C, L] tensor, several axes),
 * the channels are frozen.
 */
import { constInput, isChannelAxis } from './helpers.js';
import type { ChannelRule } from './rule.js';

export const layerNormRule: ChannelRule = {
  propagate(node, context) {
    const x = context.layoutOf(node.inputs[0]);
    if (!x) return;
    const rank = node.inputs[0]?.shape?.length;
    const axis = node.attr('axis', 'int', -1);
    if (rank !== 2 || !isChannelAxis(axis, rank)) {
      context.freeze(x, `${context.label(node)} normalises over more than the channel axis`);
      return;
    }
    for (const input of [1, 2]) {
      if (!node.inputs[input]) continue;
      if (!constInput(node, input)) {
        context.freeze(x, `${context.label(node)} has computed parameters`);
        return;
      }
      context.sliceAlong(x, 'params', node, input, 0);
    }
    context.setLayout(node.outputs[0], x);
  },
};
