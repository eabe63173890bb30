import { describe, expect, it } from 'vitest';
import { Tensor, tensorType } from '@edgeml/core';
import { pruneChannels } from '../channel.js';
import { ChannelNet, analyze, expectSameOutputs, groupOf, sliceNames, weight } from '../testing/channel-net.js';

/** Per-channel values, zero at the inert channels so they stay 0 through Add. */
const perChannel = (dims: number[], seed: number, dead: number[]) => {
  const t = weight([dims.reduce((a, b) => a * b, 1)], seed, dead);
  return Tensor.from('float32', dims, t.data);
};

describe('elementwise rule', () => {
  it('a residual Add unites both producers; per-channel Mul, Add and PRelu constants lose channels too', async () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 6, 6]);
    const dead = [1, 4];
    let h = n.conv(x, { in: 3, out: 6 }, 'a', { dead });
    h = n.op('Mul', [h, n.constant('scale', perChannel([6, 1, 1], 1, []))], {}, 'mul');
    h = n.op('Add', [h, n.constant('shift', perChannel([1, 6, 1, 1], 2, dead))], {}, 'add');
    h = n.op('PRelu', [h, n.constant('slope', perChannel([6, 1, 1], 3, []))], {}, 'prelu');
    h = n.op('Add', [n.conv(h, { in: 6, out: 6 }, 'b', { dead }), h]);
    const model = n.model(n.conv(n.op('Relu', [h]), { in: 6, out: 2 }, 'head'), [1, 2, 6, 6]);

    const group = groupOf(analyze(model), 'a');
    expect(group.sources.map((s) => s.node.name)).toEqual(['a', 'a', 'b', 'b']);
    expect(sliceNames(group, 'params')).toEqual(['mul:1@0+0×1', 'add:1@1+0×1', 'prelu:1@0+0×1']);
    const { model: pruned, groups } = await pruneChannels(model, { ratio: 1 / 3 });
    expect(groups).toEqual([{ producers: ['a', 'b'], channelsBefore: 6, channelsAfter: 4 }]);
    expect(pruned.graph.nodes.find((nd) => nd.opType === 'PRelu')!.inputs[1]!.const!.dims).toEqual([4, 1, 1]);
    await expectSameOutputs(model, pruned, [1, 3, 6, 6]);
  });

  it('freezes channels it cannot line up, and inputs that cannot lose channels', () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 4, 4]);
    const z = n.graph.addInput('z', tensorType('float32', [1, 4, 4, 4]));
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((name, i) => n.conv(x, { in: 3, out: i ? 4 : 2 }, name));
    const sizes = n.op('Add', [n.conv(x, { in: 3, out: 1 }, 'one'), a], {}, 'sizes'); // 1 channel against 2
    const laidOut = n.op('Add', [n.op('Concat', [a, a], { axis: 1 }), b], {}, 'laid_out');
    const graphInput = n.op('Mul', [c, z], {}, 'graph_input');
    const gemm = n.gemm(n.op('Flatten', [n.op('GlobalAveragePool', [d])]), { in: 4, out: 4 }, 'fc');
    const ranks = n.op('Add', [gemm, e], {}, 'ranks'); // [1,4] against [1,4,4,4]: its features meet the last axis
    const y = n.op(
      'Sum',
      [sizes, laidOut, graphInput, ranks].map((v) => n.op('ReduceMean', [v])),
    );
    const analysis = analyze(n.model(y, [1, 1, 1, 1]));
    const reason = (producer: string) => groupOf(analysis, producer).frozen;
    expect(reason('one')).toBe("Add 'sizes' combines channels of different sizes");
    expect(reason('b')).toBe("Add 'laid_out' combines differently laid out channels");
    expect(reason('c')).toBe("Mul 'graph_input' combines it with 'z', which cannot lose channels");
    expect(reason('fc')).toBe("Add 'ranks' broadcasts the channels of 'fc_out' onto another axis");
  });
});
