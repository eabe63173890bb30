import { describe, expect, it } from 'vitest';
import { pruneChannels } from '../channel.js';
import { ChannelNet, analyze, expectSameOutputs, groupOf, int64 } from '../testing/channel-net.js';

describe('split and slice rules', () => {
  for (const opset of [12, 17])
    it(`Split on channels: each part prunes on its own and the split sizes follow (opset ${opset})`, async () => {
      const n = new ChannelNet();
      const x = n.input([1, 3, 6, 6]);
      const a = n.op('Relu', [n.conv(x, { in: 3, out: 8 }, 'a', { dead: [1, 5] })]);
      const sizes = opset >= 13 ? [n.constant('sizes', int64([3, 5]))] : [];
      const split = n.node(
        'Split',
        [a, ...sizes],
        { axis: 1, ...(opset < 13 ? { split: [3, 5] } : {}) },
        {
          name: 'split',
          outputs: 2,
        },
      );
      const [p1, p2] = split.outputs;
      const y = n.op('Add', [n.conv(p1, { in: 3, out: 2 }, 'b'), n.conv(p2, { in: 5, out: 2 }, 'c')]);
      const model = n.model(y, [1, 2, 6, 6], opset);
      const parts = analyze(model).prunable;
      expect(parts.map((p) => [p.size, p.cuts.map((cut) => `${cut.node.name}:${cut.index}`)])).toEqual([
        [3, ['split:0']],
        [5, ['split:1']],
      ]);

      const { model: pruned, groups } = await pruneChannels(model, { ratio: 0.2 });
      expect(groups.map((g) => [g.channelsBefore, g.channelsAfter])).toEqual([
        [3, 2],
        [5, 4],
      ]);
      const resized = pruned.graph.nodes.find((nd) => nd.name === 'split')!;
      expect(opset >= 13 ? resized.inputs[1]!.const!.toNumbers() : resized.attr('split', 'ints')).toEqual([2, 4]);
      await expectSameOutputs(model, pruned, [1, 3, 6, 6]);
    });

  it('Slice on channels keeps one range, whose bounds follow; a Slice of other axes passes channels', async () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 6, 6]);
    const a = n.op('Relu', [n.conv(x, { in: 3, out: 6 }, 'a', { dead: [0, 3] })]);
    const bounds = (name: string, b: number[]) =>
      ['st', 'en', 'ax'].map((k, i) => n.constant(`${name}.${k}`, int64([b[i]])));
    const rows = n.op('Slice', [a, ...bounds('rows', [0, 4, 2])]);
    const mid = n.node('Slice', [rows, ...bounds('mid', [1, -1, 1])], {}, { name: 'mid' }).outputs[0];
    const model = n.model(n.conv(mid, { in: 4, out: 2 }, 'b'), [1, 2, 4, 6]);
    const group = analyze(model).prunable.find((g) => g.cuts.length)!;
    expect([group.size, group.cuts[0].parts.map((p) => p.size)]).toEqual([4, [1, 4, 1]]);

    const { model: pruned, groups } = await pruneChannels(model, { ratio: 0.25 });
    // The channels before the range and after it are pruned too (their one channel each stays).
    expect(groups.map((g) => [g.channelsBefore, g.channelsAfter])).toEqual([
      [1, 1],
      [4, 3],
      [1, 1],
    ]);
    const slice = pruned.graph.nodes.find((nd) => nd.name === 'mid')!;
    expect([slice.inputs[1]!.const!.toNumbers(), slice.inputs[2]!.const!.toNumbers()]).toEqual([[1], [4]]);
    await expectSameOutputs(model, pruned, [1, 3, 6, 6]);
  });

  it('freezes cuts it cannot follow: other axes, computed or strided bounds, empty ranges, tied channels', () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 4, 4]);
    const [a, b, c, d, e, f] = ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => n.conv(x, { in: 3, out: 4 }, name));
    const one = (v: number) => n.constant(`c${v}`, int64([v]));
    const outs = [
      n.node('Split', [a, n.constant('s', int64([2, 2]))], { axis: 2 }, { name: 'rows', outputs: 2 }).outputs[0],
      n.node('Slice', [b, one(0), one(2), n.op('Abs', [one(1)])], {}, { name: 'computed' }).outputs[0],
      n.node('Slice', [c, one(0), one(4), one(1), one(2)], {}, { name: 'strided' }).outputs[0],
      n.node('Slice', [d, one(3), one(1), one(1)], {}, { name: 'empty' }).outputs[0],
      n.node('Split', [n.op('Add', [e, f]), n.constant('t', int64([1, 3]))], { axis: 1 }, { name: 'tied', outputs: 2 })
        .outputs[0],
    ];
    const y = n.op(
      'Sum',
      outs.map((v) => n.op('ReduceMean', [v], { keepdims: 0 })),
    );
    const analysis = analyze(n.model(y, []));
    expect(groupOf(analysis, 'a').frozen).toBe("Split 'rows' splits along axis 2, not channels");
    expect(groupOf(analysis, 'b').frozen).toBe("Slice 'computed' slices with computed bounds");
    expect(groupOf(analysis, 'c').frozen).toBe("Slice 'strided' slices channels in a way it cannot follow");
    expect(groupOf(analysis, 'd').frozen).toBe("Slice 'empty' slices channels in a way it cannot follow");
    expect(groupOf(analysis, 'e').frozen).toBe("Split 'tied' cuts channels that are tied to others");
  });
});
