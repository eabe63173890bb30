import { describe, expect, it } from 'vitest';
import { pruneChannels } from '../channel.js';
import { ChannelNet, analyze, expectSameOutputs, groupOf, int64, sliceNames } from '../testing/channel-net.js';
import { padsSpareChannels, passThroughRule } from './pass-through.js';

describe('pass-through rule', () => {
  it('activations, pools and a spatial Pad keep channels where they are', async () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 8, 8]);
    let h = n.conv(x, { in: 3, out: 6 }, 'a', { dead: [0, 3] });
    // Each maps 0 to 0, so the inert channels stay inert.
    for (const op of ['Relu', 'Tanh', 'HardSwish', 'Neg', 'Abs'] as const) h = n.op(op, [h]);
    h = n.op('Pad', [h, n.constant('pads', int64([0, 0, 1, 2, 0, 0, 1, 2]))]);
    h = n.op('MaxPool', [h], { kernel_shape: [2, 2], strides: [2, 2] });
    const model = n.model(n.conv(h, { in: 6, out: 2 }, 'b'), [1, 2, 5, 6]);
    expect(sliceNames(groupOf(analyze(model), 'a'), 'consumers')).toEqual(['b:1@1+0×1']);
    const { model: pruned, groups } = await pruneChannels(model, { ratio: 1 / 3 });
    expect(groups).toEqual([{ producers: ['a'], channelsBefore: 6, channelsAfter: 4 }]);
    await expectSameOutputs(model, pruned, [1, 3, 8, 8]);
  });

  it('freezes channels read as a parameter, and a Pad that pads the channel axis', () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 4, 4]);
    const a = n.conv(x, { in: 3, out: 2 }, 'a');
    const bound = n.op('ReduceMax', [n.conv(x, { in: 3, out: 1 }, 'b')], { keepdims: 0 }, 'max');
    const clipped = n.op('Clip', [a, undefined, bound], {}, 'clip');
    // A custom op that passes channels through, but reads a second tensor of channels as its gate.
    const gate = n.node('Gate', [a, n.conv(x, { in: 3, out: 2 }, 'g')], {}, { name: 'gate', domain: 'com.example' });
    const padded = n.op(
      'Pad',
      [n.conv(x, { in: 3, out: 2 }, 'c'), n.constant('pads', int64([0, 1, 0, 0, 0, 1, 0, 0]))],
      {},
      'pad',
    );
    const convs = [n.conv(clipped, { in: 2, out: 2 }, 'd'), n.conv(padded, { in: 4, out: 2 }, 'e')];
    const y = n.op('Concat', [...convs, n.conv(gate.outputs[0], { in: 2, out: 2 }, 'f')], { axis: 1 });
    const rules = [{ opType: 'Gate', domain: 'com.example', rule: passThroughRule }];
    const analysis = analyze(n.model(y, [1, 6, 4, 4]), { rules });
    expect(groupOf(analysis, 'a').frozen).toBeUndefined();
    expect(groupOf(analysis, 'b').frozen).toBe("ReduceMax 'max' reads it");
    expect(groupOf(analysis, 'g').frozen).toBe("Gate 'gate' reads it as a parameter");
    expect(groupOf(analysis, 'c').frozen).toBe("Pad 'pad' reads it");
  });

  it('pads spare channels only when axes 0 and 1 get none, whatever order the axes come in', () => {
    const n = new ChannelNet();
    const x = n.input([1, 2, 4, 4]);
    const pad = (pads: number[], axes?: number[]) =>
      n.node('Pad', [
        x,
        n.constant(`p${pads.join('_')}`, int64(pads)),
        undefined,
        axes && n.constant(`a${axes.join('_')}`, int64(axes)),
      ]);
    expect(padsSpareChannels(pad([0, 0, 1, 1, 0, 0, 1, 1]))).toBe(true);
    expect(padsSpareChannels(pad([0, 1, 0, 0, 0, 0, 0, 0]))).toBe(false);
    expect(padsSpareChannels(pad([1, 1], [-1]))).toBe(true);
    expect(padsSpareChannels(pad([2, 0], [1]))).toBe(false);
    // Axis 1 is the third entry here: a check of positions 0 and 1 alone would let it through.
    expect(padsSpareChannels(pad([0, 0, 3, 0, 0, 0, 0, 0], [0, 2, 1, 3]))).toBe(false);
    expect(padsSpareChannels(pad([0, 0, 0, 1, 0, 0, 0, 1], [0, 2, 1, 3]))).toBe(true);
  });
});
