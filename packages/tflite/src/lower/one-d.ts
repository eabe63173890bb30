/**
 * 1-D convolutions and pools (audio, sequences) as their 2-D form over a height of 1: the
 * [N, L, C] input is RESHAPEd to [N, 1, L, C] (free: same memory), the 2-D lowering runs on a
 * stand-in node with 2-D attributes and weights, and the result is RESHAPEd back to [N, L', C'].
 */
import { Node, Value, tensorType, type Attribute, type Node as OnnxNode } from '@edgeml/core';
import type { ExportContext } from '../context.js';
import { channelsLast } from '../layout.js';
import type { Lowering } from './index.js';

const NLC = channelsLast(3);
const NHWC = channelsLast(4);

/** The 2-D form of a window attribute: size 1 (or no padding) along the added height axis. */
function widened(a: Attribute): Attribute {
  if (a.kind !== 'ints') return a;
  const values = a.value.map(Number);
  if (a.name === 'pads') return { ...a, value: [0, values[0], 0, values[1]] };
  if (['kernel_shape', 'strides', 'dilations', 'output_padding', 'output_shape'].includes(a.name))
    return { ...a, value: [1, ...values] };
  return a;
}

/** Lower the rank-3 window op `node` through `lower`, its 2-D form. */
export function lowerAsTwoD(node: OnnxNode, ctx: ExportContext, lower: Lowering): void {
  const x = node.inputs[0]!;
  const y = node.outputs[0];
  const [batch, channels, length] = ctx.shape(x);
  const [, outChannels, outLength] = ctx.shape(y);
  const name = node.name || y.name;
  const x4 = new Value(`${x.name}/2d`, tensorType(x.dtype ?? 'float32', [batch, channels, 1, length]));
  const flat = ctx.scratch(x4.name, [batch, 1, length, channels], x.dtype);
  ctx.reshape(ctx.tensor(x, NLC), flat, [batch, 1, length, channels]);
  ctx.place(x4, { tensor: flat, perm: NHWC });
  const inputs = node.inputs.map((v, i) => {
    if (i === 0) return x4;
    if (i === 1 && v?.const) {
      const [o, c, k] = v.const.dims;
      return new Value(`${v.name}/2d`, undefined, v.const.reshape([o, c, 1, k]));
    }
    return v;
  });
  const y4 = new Value(`${y.name}/2d`, tensorType(y.dtype ?? 'float32', [batch, outChannels, 1, outLength]));
  const stand = new Node({
    opType: node.opType,
    name: `${name}/2d`,
    inputs,
    outputs: [y4],
    attributes: [...node.attributes.values()].map(widened),
  });
  lower(stand, ctx);
  stand.clearInputs();
  ctx.reshape(ctx.tensor(y4, NHWC), ctx.define(y, NLC), [batch, outLength, outChannels]);
  ctx.count(`1-D ${node.opType} as its 2-D form`);
}
