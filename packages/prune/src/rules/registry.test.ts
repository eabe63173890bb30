import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, isOpName } from '@edgeml/core';
import { analyzeChannels } from '../channel-analysis.js';
import { pruneChannels } from '../channel.js';
import { ChannelNet, analyze, expectSameOutputs, groupOf } from '../testing/channel-net.js';
import { elementwiseRule } from './elementwise.js';
import { passThroughRule } from './pass-through.js';
import { DEFAULT_CHANNEL_RULES, type CustomChannelRule } from './registry.js';
import type { ChannelRule } from './rule.js';

/** Conv a → `op` → Conv b, with a's channels 1 and 4 inert (0, and `op` must map 0 to 0). */
function throughOp(opType: string, domain?: string) {
  const n = new ChannelNet();
  const x = n.input([1, 3, 6, 6]);
  const a = n.conv(x, { in: 3, out: 6 }, 'a', { dead: [1, 4] });
  const h = n.node(opType, [a], opType === 'Celu' ? { alpha: 0.5 } : {}, { name: 'op', domain }).outputs[0];
  const model = n.model(n.conv(h, { in: 6, out: 2 }, 'b'), [1, 2, 6, 6]);
  if (domain) model.opsetImports.set(domain, 1);
  return model;
}

describe('channel rules for ops the analysis does not know', () => {
  it('a default-domain op (Celu) freezes by default; with a rule it prunes, exactly as onnxruntime runs it', async () => {
    const model = throughOp('Celu');
    expect(groupOf(analyze(model), 'a').frozen).toBe("Celu 'op' reads it");
    await expect(pruneChannels(model, { ratio: 1 / 3 })).rejects.toThrow(
      "the model has no prunable channel groups: a (Celu 'op' reads it); b (graph output 'y' must keep its shape)",
    );

    const rules = [{ opType: 'Celu', rule: passThroughRule }];
    const { model: pruned, groups } = await pruneChannels(model, { ratio: 1 / 3, rules });
    expect(groups).toEqual([{ producers: ['a'], channelsBefore: 6, channelsAfter: 4 }]);
    await expectSameOutputs(model, pruned, [1, 3, 6, 6]);
  });

  it('a custom-domain op is frozen with its domain named, and follows a rule given for that domain', () => {
    const model = throughOp('Swish2', 'com.example');
    expect(groupOf(analyze(model), 'a').frozen).toBe("Swish2 'op' (domain com.example) reads it");
    // A rule for the same op type in another domain is not this op's.
    const elsewhere = [{ opType: 'Swish2', rule: passThroughRule }];
    expect(groupOf(analyze(model, { rules: elsewhere }), 'a').frozen).toBe("Swish2 'op' (domain com.example) reads it");

    const analysis = analyze(model, { rules: [{ opType: 'Swish2', domain: 'com.example', rule: passThroughRule }] });
    expect(analysis.prunable.map((g) => g.origin)).toEqual(["Conv 'a'"]);
    expect(groupOf(analysis, 'a').consumers.map((s) => `${s.node.name}:${s.input}@${s.axis}`)).toEqual(['b:1@1']);
  });

  it('a custom elementwise op unites the channels it combines', () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 4, 4]);
    const sum = n.node(
      'FusedAdd',
      [n.conv(x, { in: 3, out: 4 }, 'a'), n.conv(x, { in: 3, out: 4 }, 'b')],
      {},
      {
        domain: 'com.example',
      },
    ).outputs[0];
    const model = n.model(n.conv(sum, { in: 4, out: 2 }, 'c'), [1, 2, 4, 4]);
    const analysis = analyze(model, { rules: [{ opType: 'FusedAdd', domain: 'com.example', rule: elementwiseRule }] });
    expect(analysis.prunable.map((g) => g.sources.map((s) => s.node.name).sort())).toEqual([['a', 'a', 'b', 'b']]);
  });

  it("a rule replaces the built-in one ('ai.onnx' is the default domain too)", () => {
    const keep: ChannelRule = {
      propagate(node, context) {
        context.freeze(context.layoutOf(node.inputs[0]), 'kept on purpose');
      },
    };
    const analysis = analyze(throughOp('Relu'), { rules: [{ opType: 'Relu', domain: 'ai.onnx', rule: keep }] });
    expect(groupOf(analysis, 'a').frozen).toBe('kept on purpose');
  });

  it('channels on an input the rule never read are frozen, so a rule cannot let them slip by', () => {
    const n = new ChannelNet();
    const x = n.input([1, 3, 4, 4]);
    const gated = n.node(
      'Gate',
      [n.conv(x, { in: 3, out: 4 }, 'a'), n.conv(x, { in: 3, out: 4 }, 'g')],
      {},
      {
        name: 'gate',
        domain: 'com.example',
      },
    ).outputs[0];
    const model = n.model(n.conv(gated, { in: 4, out: 2 }, 'b'), [1, 2, 4, 4]);
    const firstOnly: ChannelRule = {
      propagate(node, context) {
        const layout = context.layoutOf(node.inputs[0]);
        if (layout) context.setLayout(node.outputs[0], layout);
      },
    };
    const analysis = analyze(model, { rules: [{ opType: 'Gate', domain: 'com.example', rule: firstOnly }] });
    expect(groupOf(analysis, 'a').frozen).toBeUndefined();
    expect(groupOf(analysis, 'g').frozen).toBe(
      "Gate 'gate' reads it as input 1, which its channel rule does not follow",
    );
  });

  it('malformed or repeated rules are InvalidArgumentErrors naming the entry', async () => {
    const model = throughOp('Celu');
    const bad: [unknown, RegExp][] = [
      [[{ opType: '', rule: passThroughRule }], /rules\[0\]\.opType must be a non-empty op name/],
      [[{ opType: 'Celu', rule: {} }], /rules\[0\]\.rule must have a propagate\(node, context\) method/],
      [
        [
          { opType: 'Celu', rule: passThroughRule },
          { opType: 'Celu', domain: 'ai.onnx', rule: passThroughRule },
        ],
        /rules\[1\] repeats the rule for Celu \(domain ai\.onnx\)/,
      ],
    ];
    for (const [rules, message] of bad) {
      const options = { rules: rules as CustomChannelRule[] };
      expect(() => analyzeChannels(model, options)).toThrow(InvalidArgumentError);
      expect(() => analyzeChannels(model, options)).toThrow(message);
      await expect(pruneChannels(model, { ratio: 0.5, ...options })).rejects.toThrow(message);
    }
  });

  it('the built-in rules are keyed by ONNX op names', () => {
    const ops = Object.keys(DEFAULT_CHANNEL_RULES);
    expect(ops.filter((op) => !isOpName(op))).toEqual([]);
    expect(ops).toEqual(expect.arrayContaining(['Conv', 'Gemm', 'MatMul', 'Add', 'Relu', 'Concat', 'Split', 'Slice']));
  });
});
