import { describe, expect, it } from 'vitest';
import { tensorType } from '@edgeml/core';
import { pruneChannels } from '../channel.js';
import { ChannelNet, analyze, expectSameOutputs, groupOf, sliceNames } from '../testing/channel-net.js';

describe('concat rule', () => {
  it("lays inputs end to end: each group's slices sit at its offset, past the graph input's fixed channels", async () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 6, 6]);
    const a = n.conv(x, { in: 3, out: 4 }, 'a', { dead: [1] });
    const b = n.conv(x, { in: 3, out: 5 }, 'b', { dead: [0, 4] });
    const joined = n.op('Relu', [n.op('Concat', [a, x, b], { axis: 1 })]);
    const model = n.model(n.conv(joined, { in: 12, out: 2 }, 'head'), [1, 2, 6, 6]);
    const analysis = analyze(model);
    expect(sliceNames(groupOf(analysis, 'a'), 'consumers')).toEqual(['head:1@1+0×1']);
    expect(sliceNames(groupOf(analysis, 'b'), 'consumers')).toEqual(['head:1@1+7×1']);

    const { model: pruned, groups } = await pruneChannels(model, { ratio: 0.25, layerRatios: { b: 0.4 } });
    expect(groups).toEqual([
      { producers: ['a'], channelsBefore: 4, channelsAfter: 3 },
      { producers: ['b'], channelsBefore: 5, channelsAfter: 3 },
    ]);
    expect(pruned.graph.nodes.find((nd) => nd.name === 'head')!.inputs[1]!.const!.dims).toEqual([2, 9, 3, 3]);
    await expectSameOutputs(model, pruned, [1, 3, 6, 6]);
  });

  it('freezes a join along another axis, and offsets after an input of unknown channels', () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 4, 4]);
    const z = n.graph.addInput('z', tensorType('float32', [1, 'c', 4, 4]));
    const [a, b, c] = ['a', 'b', 'c'].map((name) => n.conv(x, { in: 3, out: 2 }, name));
    const batch = n.node('Concat', [a, a], { axis: 0 }, { name: 'batch' }).outputs[0];
    const unknown = n.node('Concat', [b, z, c], { axis: 1 }, { name: 'unknown' }).outputs[0];
    const y = n.op('Add', [
      n.op('ReduceMean', [batch], { keepdims: 0 }),
      n.op('ReduceMean', [unknown], { keepdims: 0 }),
    ]);
    const analysis = analyze(n.model(y, []));
    expect(groupOf(analysis, 'a').frozen).toBe("Concat 'batch' joins along axis 0, not channels");
    expect(groupOf(analysis, 'b').frozen).toBe("Concat 'unknown' has an input of unknown channels");
    expect(groupOf(analysis, 'c').frozen).toBe("Concat 'unknown' has an input of unknown channels");
  });
});
