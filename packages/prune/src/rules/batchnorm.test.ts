import { describe, expect, it } from 'vitest';
import { Tensor, type Value } from '@edgeml/core';
import { pruneChannels } from '../channel.js';
import { ChannelNet, analyze, expectSameOutputs, groupOf, sliceNames } from '../testing/channel-net.js';

/** BatchNorm whose channels in `small` have a tiny scale and a bias that cancels their mean: they output 0. */
function batchNorm(n: ChannelNet, x: Value, channels: number, small: number[]): Value {
  const gamma = Float32Array.from({ length: channels }, (_, c) => (small.includes(c) ? 0.01 : 1 + c / 10));
  const mean = Float32Array.from({ length: channels }, (_, c) => 0.1 * (c - 2));
  const variance = Float32Array.from({ length: channels }, (_, c) => 1 + c / 5);
  const beta = Float32Array.from({ length: channels }, (_, c) =>
    small.includes(c) ? (gamma[c] * mean[c]) / Math.sqrt(variance[c] + 1e-5) : 0.05 * c,
  );
  const p = (name: string, v: Float32Array) => n.constant(`bn.${name}`, Tensor.from('float32', [channels], v));
  return n.node(
    'BatchNormalization',
    [x, p('scale', gamma), p('bias', beta), p('mean', mean), p('var', variance)],
    {},
    {
      name: 'bn',
    },
  ).outputs[0];
}

describe('batchnorm rule', () => {
  it('scale, bias, mean and variance ride along; the bn criterion ranks channels by |scale|', async () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 6, 6]);
    const h = n.op('Relu', [batchNorm(n, n.conv(x, { in: 3, out: 6 }, 'a', { dead: [1, 4] }), 6, [1, 4])]);
    const model = n.model(n.conv(h, { in: 6, out: 2 }, 'b'), [1, 2, 6, 6]);
    const a = groupOf(analyze(model), 'a');
    expect(sliceNames(a, 'params')).toEqual(['bn:1@0+0×1', 'bn:2@0+0×1', 'bn:3@0+0×1', 'bn:4@0+0×1']);
    expect(a.batchNorms.map((nd) => nd.name)).toEqual(['bn']);

    const { model: pruned, groups } = await pruneChannels(model, { ratio: 1 / 3, criterion: 'bn' });
    expect(groups).toEqual([{ producers: ['a'], channelsBefore: 6, channelsAfter: 4 }]);
    const bn = pruned.graph.nodes.find((nd) => nd.name === 'bn')!;
    expect(Array.from(bn.inputs[1]!.const!.toFloat64())).not.toContain(Math.fround(0.01));
    await expectSameOutputs(model, pruned, [1, 3, 6, 6]);
  });

  it('freezes channels whose parameters are computed', () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 6, 6]);
    const a = n.conv(x, { in: 3, out: 2 }, 'a');
    const p = (name: string) => n.constant(name, Tensor.from('float32', [2], [1, 1]));
    const scale = n.op('Relu', [p('s')]);
    const bn = n.node('BatchNormalization', [a, scale, p('b'), p('m'), p('v')], {}, { name: 'bn' });
    const y = n.conv(bn.outputs[0], { in: 2, out: 2 }, 'c');
    expect(groupOf(analyze(n.model(y, [1, 2, 6, 6])), 'a').frozen).toBe(
      "BatchNormalization 'bn' has computed parameters",
    );
  });
});
