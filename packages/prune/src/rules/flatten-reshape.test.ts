import { describe, expect, it } from 'vitest';
import { pruneChannels } from '../channel.js';
import { ChannelNet, analyze, expectSameOutputs, groupOf, int64, sliceNames, weight } from '../testing/channel-net.js';

describe('flatten and reshape rule', () => {
  for (const op of ['Flatten', 'Reshape'] as const)
    it(`${op} to [N, C·H·W]: each channel's H·W features go from the Gemm together`, async () => {
      const n = new ChannelNet();
      const x = n.input([1, 3, 4, 4]);
      const a = n.op('Relu', [n.conv(x, { in: 3, out: 4 }, 'a', { dead: [2] })]);
      const pooled = n.op('MaxPool', [a], { kernel_shape: [2, 2], strides: [2, 2] });
      const flat = op === 'Flatten' ? n.op(op, [pooled]) : n.op(op, [pooled, n.constant('shape', int64([1, -1]))]);
      const model = n.model(n.gemm(flat, { in: 16, out: 3 }, 'head'), [1, 3]);
      expect(sliceNames(groupOf(analyze(model), 'a'), 'consumers')).toEqual(['head:1@1+0×4']);

      const { model: pruned, groups } = await pruneChannels(model, { ratio: 0.25 });
      expect(groups).toEqual([{ producers: ['a'], channelsBefore: 4, channelsAfter: 3 }]);
      expect(pruned.graph.nodes.find((nd) => nd.name === 'head')!.inputs[1]!.const!.dims).toEqual([3, 12]);
      await expectSameOutputs(model, pruned, [1, 3, 4, 4]);
    });

  it('freezes a Reshape that puts channels on another axis, and a Flatten from another axis', () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 4, 4]);
    const a = n.conv(x, { in: 3, out: 4 }, 'a');
    // [1, 4, 4, 4] → [4, 16]: rank 2 like a flatten, but the channels are now the rows.
    const rows = n.node('Reshape', [a, n.constant('shape', int64([4, 16]))], {}, { name: 'rows' }).outputs[0];
    const mm = n.op('MatMul', [rows, n.constant('w', weight([16, 2], 1))]);
    const b = n.conv(x, { in: 3, out: 4 }, 'b');
    const deep = n.node('Flatten', [b], { axis: 2 }, { name: 'deep' }).outputs[0];
    const y = n.op('Add', [n.op('ReduceMean', [mm], { keepdims: 0 }), n.op('ReduceMean', [deep], { keepdims: 0 })]);
    const analysis = analyze(n.model(y, []));
    expect(groupOf(analysis, 'a').frozen).toBe("Reshape 'rows' reshapes channels other than by flattening");
    expect(groupOf(analysis, 'b').frozen).toBe("Flatten 'deep' reshapes channels other than by flattening");
  });
});
