import { describe, expect, it } from 'vitest';
import { pruneChannels } from '../channel.js';
import { ChannelNet, analyze, expectSameOutputs, groupOf, sliceNames, weight } from '../testing/channel-net.js';

describe('conv rule', () => {
  it('a plain Conv makes channels (weight and bias rows) that the next Conv reads as weight columns', async () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 6, 6]);
    const h = n.op('Relu', [n.conv(x, { in: 3, out: 6 }, 'a', { dead: [1, 4] })]);
    const model = n.model(n.conv(h, { in: 6, out: 4 }, 'b'), [1, 4, 6, 6]);
    const a = groupOf(analyze(model), 'a');
    expect(a).toMatchObject({ size: 6, origin: "Conv 'a'", frozen: undefined });
    expect(sliceNames(a, 'sources')).toEqual(['a:1@0+0×1', 'a:2@0+0×1']);
    expect(sliceNames(a, 'consumers')).toEqual(['b:1@1+0×1']);

    const { model: pruned, groups } = await pruneChannels(model, { ratio: 1 / 3 });
    expect(groups).toEqual([{ producers: ['a'], channelsBefore: 6, channelsAfter: 4 }]);
    expect(pruned.graph.nodes.find((nd) => nd.name === 'b')!.inputs[1]!.const!.dims).toEqual([4, 4, 3, 3]);
    await expectSameOutputs(model, pruned, [1, 3, 6, 6]);
  });

  it('a depthwise Conv carries channel c to channel c; its weight, bias and group shrink with them', async () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 6, 6]);
    let h = n.op('Relu', [n.conv(x, { in: 3, out: 8 }, 'a', { dead: [0, 5] })]);
    h = n.op('Relu', [n.conv(h, { in: 8, out: 8 }, 'dw', { group: 8, dead: [0, 5] })]);
    const model = n.model(n.conv(h, { in: 8, out: 4 }, 'b', { k: 1 }), [1, 4, 6, 6]);
    const analysis = analyze(model);
    const a = groupOf(analysis, 'a');
    expect(sliceNames(a, 'params')).toEqual(['dw:1@0+0×1', 'dw:2@0+0×1']);
    expect(a.depthwise.map((nd) => nd.name)).toEqual(['dw']);
    expect(analysis.groups).toHaveLength(2); // a's channels, and b's (a graph output)

    const { model: pruned } = await pruneChannels(model, { ratio: 0.25 });
    const dw = pruned.graph.nodes.find((nd) => nd.name === 'dw')!;
    expect(dw.attr('group', 'int')).toBe(6);
    expect(dw.inputs[1]!.const!.dims).toEqual([6, 1, 3, 3]);
    await expectSameOutputs(model, pruned, [1, 3, 6, 6]);
  });

  it('a grouped Conv reads and writes channels by their position in each group', () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 6, 6]);
    const a = n.conv(x, { in: 3, out: 8 }, 'a');
    const g = n.conv(a, { in: 8, out: 6 }, 'grouped', { group: 2 });
    const model = n.model(n.conv(g, { in: 6, out: 2 }, 'b'), [1, 2, 6, 6]);
    const analysis = analyze(model);
    expect(groupOf(analysis, 'a').convolutionGroups).toBe(2);
    expect(sliceNames(groupOf(analysis, 'a'), 'consumers')).toEqual(['grouped:1@1+0×1%4']);
    expect(groupOf(analysis, 'grouped')).toMatchObject({ size: 6, convolutionGroups: 2 });
  });

  it('freezes what it cannot keep in equal groups, computed weights, and depthwise over fixed channels', () => {
    const n = new ChannelNet();
    const x = n.input([1, 4, 6, 6]);
    const a = n.conv(x, { in: 4, out: 8 }, 'a');
    n.conv(a, { in: 8, out: 8 }, 'by2', { group: 2 });
    const by4 = n.conv(a, { in: 8, out: 8 }, 'by4', { group: 4 });
    // b's channels next to the graph input's: a depthwise Conv cannot shrink its group evenly.
    const b = n.conv(x, { in: 4, out: 4 }, 'b');
    const joined = n.op('Concat', [b, x], { axis: 1 });
    const dw = n.conv(joined, { in: 8, out: 8 }, 'dw', { group: 8 });
    const c = n.conv(x, { in: 4, out: 4 }, 'c');
    const computed = n.node('Conv', [c, n.op('Relu', [n.constant('w', weight([2, 4, 1, 1], 3))])], {}, { name: 'cw' });
    const y = n.op('Concat', [by4, dw, computed.outputs[0]], { axis: 1 });
    const frozen = Object.fromEntries(analyze(n.model(y, [1, 18, 6, 6])).frozen.map((f) => [f.group.origin, f.reason]));
    expect(frozen["Conv 'a'"]).toBe("Conv 'by4' groups its channels by 4, another reader by 2");
    expect(frozen["Conv 'b'"]).toBe("Conv 'dw' mixes fixed and prunable channels");
    expect(frozen["Conv 'c'"]).toBe("Conv 'cw' has a computed weight");
  });
});
