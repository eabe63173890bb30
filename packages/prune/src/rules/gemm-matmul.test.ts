import { describe, expect, it } from 'vitest';
import { Tensor } from '@edgeml/core';
import { pruneChannels } from '../channel.js';
import { ChannelNet, analyze, expectSameOutputs, groupOf, sliceNames, weight } from '../testing/channel-net.js';

describe('gemm and matmul rule', () => {
  it('Gemm (transB) rows and MatMul columns make features; the next one reads them as weight rows', async () => {
    const n = new ChannelNet();
    const x = n.input([2, 6]);
    const h = n.op('Relu', [n.gemm(x, { in: 6, out: 8 }, 'fc1', [2, 3])]);
    const mm = n.node('MatMul', [h, n.constant('mm.w', weight([8, 5], 4))], {}, { name: 'mm' });
    const model = n.model(n.gemm(n.op('Relu', [mm.outputs[0]]), { in: 5, out: 3 }, 'head'), [2, 3]);
    const analysis = analyze(model);
    expect(sliceNames(groupOf(analysis, 'fc1'), 'sources')).toEqual(['fc1:1@0+0×1', 'fc1:2@0+0×1']);
    expect(sliceNames(groupOf(analysis, 'fc1'), 'consumers')).toEqual(['mm:1@0+0×1']);
    expect(sliceNames(groupOf(analysis, 'mm'), 'sources')).toEqual(['mm:1@1+0×1']);
    expect(sliceNames(groupOf(analysis, 'mm'), 'consumers')).toEqual(['head:1@1+0×1']);

    const { model: pruned, groups } = await pruneChannels(model, { ratio: 0.25, layerRatios: { mm: 0 } });
    expect(groups).toContainEqual({ producers: ['fc1'], channelsBefore: 8, channelsAfter: 6 });
    await expectSameOutputs(model, pruned, [2, 6]);
  });

  it('a one-value Gemm bias broadcasts to any number of outputs, so it stays as it is', async () => {
    const n = new ChannelNet();
    const x = n.input([2, 6]);
    const w = n.constant('fc.w', weight([6, 6], 1, [0, 4], 0.2));
    // Relu(x·Wᵀ − 1) is 0 where W's row is 0: those features are inert.
    const fc = n.node(
      'Gemm',
      [x, w, n.constant('fc.b', Tensor.from('float32', [1], [-1]))],
      { transB: 1 },
      { name: 'fc' },
    );
    const model = n.model(n.gemm(n.op('Relu', [fc.outputs[0]]), { in: 6, out: 2 }, 'head'), [2, 2]);
    expect(sliceNames(groupOf(analyze(model), 'fc'), 'sources')).toEqual(['fc:1@0+0×1']);
    const { model: pruned } = await pruneChannels(model, { ratio: 1 / 3 });
    expect(pruned.graph.nodes.find((nd) => nd.name === 'fc')!.inputs[2]!.const!.dims).toEqual([1]);
    await expectSameOutputs(model, pruned, [2, 6]);
  });

  it('freezes MatMul over a tensor of higher rank, whose last axis is not the channels', () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 4, 4]);
    const c = n.conv(x, { in: 3, out: 6 }, 'c');
    const mm = n.node('MatMul', [c, n.constant('mm.w', weight([4, 2], 2))], {}, { name: 'mm' });
    const model = n.model(n.op('Relu', [mm.outputs[0]]), [1, 6, 4, 2]);
    const analysis = analyze(model);
    expect(analysis.prunable).toEqual([]);
    expect(groupOf(analysis, 'c').frozen).toBe("MatMul 'mm' multiplies along an axis other than the channels");
    expect(groupOf(analysis, 'mm').frozen).toBe("MatMul 'mm' output is not a matrix");
  });

  it('freezes transA, computed weights and biases that are not one per output', () => {
    const n = new ChannelNet();
    const x = n.input([4, 4]);
    const a = n.gemm(x, { in: 4, out: 4 }, 'a');
    const b = n.gemm(x, { in: 4, out: 4 }, 'b');
    const c = n.gemm(x, { in: 4, out: 4 }, 'c');
    const t = n.node('Gemm', [a, n.constant('t.w', weight([4, 4], 1))], { transA: 1 }, { name: 't' });
    const computed = n.node('MatMul', [b, n.op('Relu', [n.constant('r', weight([4, 4], 2))])], {}, { name: 'r' });
    const wide = n.node(
      'Gemm',
      [c, n.constant('w.w', weight([4, 4], 3)), n.constant('w.b', weight([1, 4], 4))],
      {},
      {
        name: 'wide',
      },
    );
    const y = n.op('Sum', [t.outputs[0], computed.outputs[0], n.op('Relu', [wide.outputs[0]])]);
    const frozen = Object.fromEntries(analyze(n.model(y, [4, 4])).frozen.map((f) => [f.group.origin, f.reason]));
    expect(frozen["Gemm 'a'"]).toBe("Gemm 't' has no plain constant weight");
    expect(frozen["Gemm 'b'"]).toBe("MatMul 'r' has no plain constant weight");
    expect(frozen["Gemm 'wide'"]).toBe("Gemm 'wide' has a bias that is not per output");
  });
});
