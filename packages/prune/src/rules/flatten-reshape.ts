/**
 * Flatten (axis 1) and a Reshape that flattens [N, C, H, W] to [N, C·H·W]: every channel becomes
 * H·W consecutive features, which the reader (a Gemm) loses together.
 */
import { segmentSize } from '../channel-group.js';
import type { ChannelRule } from './rule.js';

export const flattenReshapeRule: ChannelRule = {
  propagate(node, context) {
    const x = context.layoutOf(node.inputs[0]);
    if (!x) return;
    const spatial = node.inputs[0]!.shape?.slice(2);
    const outShape = node.outputs[0].shape;
    const hw = spatial?.every((d) => typeof d === 'number') ? spatial.reduce<number>((a, b) => a * b, 1) : undefined;
    const axis = node.opType === 'Flatten' ? node.attr('axis', 'int', 1) : 1;
    // A Reshape to [C, H·W] is rank 2 as well: it flattens only if its second axis holds every feature.
    const features = x.reduce((n, s) => n + segmentSize(s) * s.expansion, 0) * (hw ?? 0);
    const flattens =
      hw !== undefined &&
      outShape?.length === 2 &&
      axis === 1 &&
      (node.opType === 'Flatten' || outShape[1] === features);
    if (!flattens) {
      context.freeze(x, `${context.label(node)} reshapes channels other than by flattening`);
      return;
    }
    context.setLayout(
      node.outputs[0],
      x.map((s) => ({ ...s, expansion: s.expansion * hw })),
    );
  },
};
