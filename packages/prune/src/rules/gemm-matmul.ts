/**
 * Gemm and MatMul with a constant matrix weight: the weight's rows (columns with transB) read the
 * input's features, and its other axis makes N new channels. Only matrices are followed: MatMul
 * on a higher-rank input contracts its last axis, which is not the channel axis.
 */
import type { Node } from '@edgeml/core';
import { constInput, outputChannels } from './helpers.js';
import type { ChannelRule } from './rule.js';

export const gemmMatMulRule: ChannelRule = {
  propagate(node, context) {
    const x = context.layoutOf(node.inputs[0]);
    const gemm = node.opType === 'Gemm';
    const weight = constInput(node, 1)?.const;
    if (!weight || weight.dims.length !== 2 || (gemm && node.attr('transA', 'int', 0))) {
      context.freeze(x, `${context.label(node)} has no plain constant weight`);
      return;
    }
    const transB = gemm && node.attr('transB', 'int', 0) === 1;
    if (x && node.inputs[0]!.shape?.length !== 2)
      context.freeze(x, `${context.label(node)} multiplies along an axis other than the channels`);
    else if (x) context.sliceAlong(x, 'consumers', node, 1, transB ? 1 : 0);
    const size = transB ? weight.dims[0] : weight.dims[1];
    const bias = gemm ? gemmBias(node, size) : 'none';
    const made = outputChannels(node, context, size, transB ? 0 : 1, bias === 'per-output');
    if (bias === 'other') made.frozen = `${context.label(node)} has a bias that is not per output`;
    if (node.outputs[0].shape?.length === 2) context.setLayout(node.outputs[0], [{ group: made, expansion: 1 }]);
    else made.frozen = `${context.label(node)} output is not a matrix`;
  },
};

/** A bias C of N values goes with the output channels; one value broadcasts to any number of them. */
function gemmBias(node: Node, size: number): 'none' | 'per-output' | 'other' {
  const bias = node.inputs[2];
  if (!bias) return 'none';
  const dims = bias.const?.dims;
  if (dims?.length === 1 && dims[0] === size) return 'per-output';
  if (bias.const?.size === 1) return 'none';
  return 'other';
}
