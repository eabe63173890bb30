import { describe, expect, it } from 'vitest';
import { Tensor, type Value } from '@edgeml/core';
import { randomTensor, runOrt } from '../../../../tests/support/models.js';
import { pruneChannels } from '../channel.js';
import { ChannelNet, analyze, groupOf, sliceNames } from '../testing/channel-net.js';

function layerNorm(n: ChannelNet, x: Value, features: number, axis = -1): Value {
  const p = (name: string, f: (c: number) => number) =>
    n.constant(
      `ln.${name}`,
      Tensor.from(
        'float32',
        [features],
        Float32Array.from({ length: features }, (_, c) => f(c)),
      ),
    );
  return n.node(
    'LayerNormalization',
    [x, p('scale', (c) => 1 + c / 10), p('bias', (c) => 0.05 * c)],
    { axis },
    { name: 'ln' },
  ).outputs[0];
}

describe('layernorm rule', () => {
  it("a [N, C] LayerNormalization's scale and bias lose the pruned features; onnxruntime runs the result", async () => {
    const n = new ChannelNet();
    const x = n.input([2, 6]);
    const h = n.op('Relu', [layerNorm(n, n.gemm(x, { in: 6, out: 8 }, 'fc1', [2, 3]), 8)]);
    const model = n.model(n.gemm(h, { in: 8, out: 3 }, 'head'), [2, 3]);
    expect(sliceNames(groupOf(analyze(model), 'fc1'), 'params')).toEqual(['ln:1@0+0×1', 'ln:2@0+0×1']);

    const { model: pruned, groups } = await pruneChannels(model, { ratio: 0.25 });
    expect(groups).toContainEqual({ producers: ['fc1'], channelsBefore: 8, channelsAfter: 6 });
    const ln = pruned.graph.nodes.find((nd) => nd.name === 'ln')!;
    expect([ln.inputs[1]!.const!.dims, ln.inputs[2]!.const!.dims]).toEqual([[6], [6]]);
    // Fewer features change the statistics they are normalised with: it runs, it is not the same function.
    const y = (await runOrt(pruned, { x: randomTensor([2, 6], 1) })).y;
    expect(y.dims).toEqual([2, 3]);
    expect(Array.from(y.data as Float32Array).every(Number.isFinite)).toBe(true);
  });

  it('freezes features normalised together with another axis', () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 6, 6]);
    const a = n.conv(x, { in: 3, out: 4 }, 'a');
    const ln = n.node(
      'LayerNormalization',
      [a, n.constant('s', Tensor.from('float32', [4, 6, 6], new Float32Array(144).fill(1)))],
      { axis: 1 },
      { name: 'ln' },
    );
    const model = n.model(n.conv(ln.outputs[0], { in: 4, out: 2 }, 'b'), [1, 2, 6, 6]);
    expect(groupOf(analyze(model), 'a').frozen).toBe(
      "LayerNormalization 'ln' normalises over more than the channel axis",
    );
  });
});
