/**
 * Structured channel pruning, judged by onnxruntime and the ONNX checker: channels made inert
 * on purpose (zero weights, BatchNorm terms that cancel) are the ones removed, and outputs stay
 * the same through residual Adds, Concats, depthwise convolutions and Flatten → Gemm.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Graph,
  Model,
  Tensor,
  encodeModel,
  float32ToFloat16Bits,
  modelStats,
  tensorType,
  type Value,
} from '@edgeml/core';
import { pruneChannels } from '@edgeml/prune';
import { randomTensor, runOrt } from './support/models.js';
import { checkModels } from './support/onnx-checker.js';

/** Conv weights [M, C, k, k] with output channels in `dead` all zero. */
function convWeight(M: number, C: number, k: number, seed: number, dead: number[] = []): Tensor {
  const t = randomTensor([M, C, k, k], seed, 0.5);
  const d = t.data;
  for (const m of dead) d.fill(0, m * C * k * k, (m + 1) * C * k * k);
  return t;
}
const bias = (M: number, seed: number, dead: number[] = []) => {
  const t = randomTensor([M], seed, 0.1);
  for (const m of dead) t.data[m] = 0;
  return t;
};

class Net {
  g = new Graph('net');
  conv(
    x: Value,
    M: number,
    C: number,
    seed: number,
    opts: { dead?: number[]; group?: number; k?: number; name: string },
  ): Value {
    const k = opts.k ?? 3;
    const w = opts.group ? convWeight(M, 1, k, seed, opts.dead) : convWeight(M, C, k, seed, opts.dead);
    return this.g.op(
      'Conv',
      [
        x,
        this.g.addInitializer(`${opts.name}.w`, w),
        this.g.addInitializer(`${opts.name}.b`, bias(M, seed + 100, opts.dead)),
      ],
      { pads: Array(4).fill(Math.floor(k / 2)), ...(opts.group ? { group: opts.group } : {}) },
      { name: opts.name },
    ).outputs[0];
  }
  /** BatchNorm whose dead channels output exactly 0 (β = γ·μ/√(σ²+ε)). */
  bn(x: Value, C: number, seed: number, name: string, dead: number[] = []): Value {
    const gamma = Float32Array.from(randomTensor([C], seed).toFloat64(), (v) => 1 + 0.5 * v);
    const mean = Float32Array.from(randomTensor([C], seed + 1).toFloat64(), (v) => 0.2 * v);
    const variance = Float32Array.from(randomTensor([C], seed + 2).toFloat64(), (v) => 1 + 0.5 * Math.abs(v));
    const beta = Float32Array.from(randomTensor([C], seed + 3).toFloat64(), (v) => 0.1 * v);
    for (const c of dead) beta[c] = (gamma[c] * mean[c]) / Math.sqrt(variance[c] + 1e-5);
    const p = (n: string, v: Float32Array) => this.g.addInitializer(`${name}.${n}`, Tensor.from('float32', [C], v));
    return this.g.op(
      'BatchNormalization',
      [x, p('scale', gamma), p('bias', beta), p('mean', mean), p('var', variance)],
      {},
      { name },
    ).outputs[0];
  }
  private count = 0;
  op(type: string, inputs: Value[], attrs: Record<string, unknown> = {}): Value {
    return this.g.op(type, inputs, attrs as never, { name: `${type.toLowerCase()}${this.count++}` }).outputs[0];
  }
  gemm(x: Value, N: number, K: number, seed: number, name: string): Value {
    return this.g.op(
      'Gemm',
      [
        x,
        this.g.addInitializer(`${name}.w`, randomTensor([N, K], seed, 0.2)),
        this.g.addInitializer(`${name}.b`, randomTensor([N], seed + 1, 0.1)),
      ],
      { transB: 1 },
      { name },
    ).outputs[0];
  }
  finish(y: Value, shape: number[]): Model {
    y.name = 'y';
    y.type = tensorType('float32', shape);
    this.g.outputs.push(y);
    return new Model(this.g, { opsetImports: new Map([['', 17]]), irVersion: 8 });
  }
}

async function expectSameOutputs(before: Model, after: Model, inputShape: number[]): Promise<void> {
  for (const seed of [1, 2]) {
    const feeds = { x: randomTensor(inputShape, seed) };
    const [a, b] = [
      (await runOrt(before, feeds)).y.data as Float32Array,
      (await runOrt(after, feeds)).y.data as Float32Array,
    ];
    expect(b.length).toBe(a.length);
    expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]) / (1 + Math.abs(v))))).toBeLessThan(1e-5);
  }
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-prune-')), 'pruned.onnx');
  fs.writeFileSync(file, encodeModel(after));
  expect(checkModels([file]).get(file)).toBeNull();
}

describe('channel pruning removes inert channels exactly', () => {
  it('Conv → BN → Relu → Conv, a residual Add, Concat, depthwise Conv, Flatten → Gemm', async () => {
    const n = new Net();
    const x = n.g.addInput('x', tensorType('float32', [1, 3, 8, 8]));
    // stem: 8 channels, 2 and 5 inert (zero conv, BN cancels to 0, Relu keeps 0)
    let h = n.op('Relu', [n.bn(n.conv(x, 8, 3, 1, { name: 'stem', dead: [2, 5] }), 8, 11, 'stem_bn', [2, 5])]);
    // residual block: conv(8→8) → relu → conv(8→8); its dead channels line up with the stem's
    let r = n.op('Relu', [n.conv(h, 8, 8, 2, { name: 'res_a', dead: [1, 6] })]);
    r = n.conv(r, 8, 8, 3, { name: 'res_b', dead: [2, 5] });
    h = n.op('Relu', [n.op('Add', [r, h])]);
    // two branches concatenated: 4 + 6 channels, with one inert channel in each
    const b1 = n.op('Relu', [n.conv(h, 4, 8, 4, { name: 'branch1', dead: [0] })]);
    const b2 = n.op('Relu', [n.conv(h, 6, 8, 5, { name: 'branch2', dead: [3] })]);
    h = n.op('Concat', [b1, b2], { axis: 1 });
    // depthwise then pointwise; the depthwise filters of the inert concat channels (0 and 4 + 3) are zero too
    h = n.op('Relu', [n.conv(h, 10, 10, 6, { name: 'depthwise', group: 10, dead: [0, 7] })]);
    h = n.op('Relu', [n.conv(h, 12, 10, 7, { name: 'pointwise', k: 1, dead: [4, 9, 10] })]);
    h = n.op('MaxPool', [h], { kernel_shape: [2, 2], strides: [2, 2] });
    h = n.op('Flatten', [h]);
    const model = n.finish(n.gemm(h, 5, 12 * 16, 8, 'head'), [1, 5]);

    // Remove exactly the inert share: 2/8 stem+res_b group (res_a 2/8), 1/4, 1/6, 3/12.
    const {
      model: pruned,
      groups,
      skipped,
    } = await pruneChannels(model, { ratio: 0.25, criterion: 'l1', layerRatios: { branch1: 0.25, branch2: 1 / 6 } });
    const byProducer = Object.fromEntries(
      groups.map((g) => [g.producers.join('+'), [g.channelsBefore, g.channelsAfter]]),
    );
    expect(byProducer['stem+res_b']).toEqual([8, 6]);
    expect(byProducer.res_a).toEqual([8, 6]);
    expect(byProducer.branch1).toEqual([4, 3]);
    expect(byProducer.branch2).toEqual([6, 5]);
    expect(byProducer.pointwise).toEqual([12, 9]);
    expect(skipped.map((s) => s.name)).toEqual(['head']); // the graph output keeps its 5 classes
    expect(modelStats(pruned).parameters).toBeLessThan(modelStats(model).parameters * 0.8);
    expect(pruned.graph.nodes.find((nd) => nd.name === 'depthwise')!.attr('group', 'int')).toBe(8);
    await expectSameOutputs(model, pruned, [1, 3, 8, 8]);
  });

  it('grouped convolutions keep equal groups; Split and Slice on channels take the new sizes', async () => {
    const n = new Net();
    const x = n.g.addInput('x', tensorType('float32', [1, 3, 6, 6]));
    // a: 8 channels read by a 2-group conv; position 1 of each group (channels 1 and 5) is inert.
    let h = n.op('Relu', [n.conv(x, 8, 3, 1, { name: 'a', dead: [1, 5] })]);
    const gw = convWeight(8, 4, 3, 2, [2, 6]);
    h = n.op('Relu', [
      n.g.op(
        'Conv',
        [h, n.g.addInitializer('g.w', gw), n.g.addInitializer('g.b', bias(8, 102, [2, 6]))],
        { pads: [1, 1, 1, 1], group: 2 },
        { name: 'grouped' },
      ).outputs[0],
    ]);
    h = n.op('Relu', [n.conv(h, 8, 8, 3, { name: 'b', dead: [0, 5] })]);
    const [p1, p2] = n.g.op(
      'Split',
      [h, n.g.addInitializer('split', Tensor.from('int64', [2], [3n, 5n]))],
      { axis: 1 },
      { name: 'split', outputs: 2 },
    ).outputs;
    // the Slice keeps channels 1..3 of the second part (b's 4..6); 5 is inert
    const mid = n.g.op(
      'Slice',
      [
        p2,
        n.g.addInitializer('st', Tensor.from('int64', [1], [1n])),
        n.g.addInitializer('en', Tensor.from('int64', [1], [4n])),
        n.g.addInitializer('ax', Tensor.from('int64', [1], [1n])),
      ],
      {},
      { name: 'slice' },
    ).outputs[0];
    const s1 = n.op('Relu', [n.conv(p1, 4, 3, 4, { name: 's1', dead: [0] })]);
    const s2 = n.op('Relu', [n.conv(mid, 4, 3, 5, { name: 's2', dead: [2] })]);
    h = n.op('Relu', [n.conv(n.op('Concat', [s1, s2], { axis: 1 }), 5, 8, 6, { name: 'head', dead: [3] })]);
    const model = n.finish(n.gemm(n.op('Flatten', [n.op('GlobalAveragePool', [h])]), 3, 5, 7, 'fc'), [1, 3]);
    const { model: pruned, groups } = await pruneChannels(model, { ratio: 0.25 });
    const byProducer = Object.fromEntries(
      groups.map((g) => [g.producers.join('+'), [g.channelsBefore, g.channelsAfter]]),
    );
    expect(byProducer.a).toEqual([8, 6]);
    expect(byProducer.grouped).toEqual([8, 6]);
    expect(groups.filter((g) => g.producers.join() === 'b').map((g) => [g.channelsBefore, g.channelsAfter])).toEqual([
      [3, 2],
      [1, 1],
      [3, 2],
      [1, 1],
    ]);
    expect(byProducer.s1).toEqual([4, 3]);
    expect(byProducer.head).toEqual([5, 4]);
    const grouped = pruned.graph.nodes.find((nd) => nd.name === 'grouped')!;
    expect(grouped.attr('group', 'int')).toBe(2);
    expect(grouped.inputs[1]!.const!.dims).toEqual([6, 3, 3, 3]);
    expect(pruned.graph.nodes.find((nd) => nd.name === 'split')!.inputs[1]!.const!.toNumbers()).toEqual([2, 4]);
    await expectSameOutputs(model, pruned, [1, 3, 6, 6]);
  });

  it('keeps a global threshold, rounds channel counts, and refuses what it cannot do', async () => {
    const n = new Net();
    const x = n.g.addInput('x', tensorType('float32', [1, 3, 6, 6]));
    let h = n.op('Relu', [n.conv(x, 16, 3, 1, { name: 'c1' })]);
    h = n.op('Relu', [n.conv(h, 16, 16, 2, { name: 'c2' })]);
    h = n.op('GlobalAveragePool', [h]);
    const model = n.finish(n.gemm(n.op('Flatten', [h]), 4, 16, 3, 'fc'), [1, 4]);
    const r = await pruneChannels(model, { ratio: 0.5, roundTo: 8, scope: 'global' });
    for (const g of r.groups) expect(g.channelsAfter % 8).toBe(0);
    const runs = await runOrt(r.model, { x: randomTensor([1, 3, 6, 6], 4) });
    expect(runs.y.dims).toEqual([1, 4]);
    await expect(pruneChannels(model, { ratio: 1 })).rejects.toThrow(/ratio must be in \[0, 1\)/);
    await expect(pruneChannels(model, { ratio: 0.5, exclude: ['nope'] })).rejects.toThrow(/no node 'nope'/);
    const excluded = await pruneChannels(model, { ratio: 0.5, exclude: ['c1'] });
    expect(excluded.skipped).toContainEqual({ name: 'c1', reason: "node 'c1' is excluded" });
    const g = new Graph('noweights');
    const a = g.addInput('x', tensorType('float32', [1, 4]));
    const y = g.op('Relu', [a]).outputs[0];
    g.outputs.push(y);
    await expect(pruneChannels(new Model(g, { opsetImports: new Map([['', 17]]) }), { ratio: 0.5 })).rejects.toThrow(
      /no prunable channel groups/,
    );
  });
});

describe('channel pruning keeps weight dtypes', () => {
  it('a float16 Conv net stays float16, and its inert channels go exactly (onnxruntime)', async () => {
    const g = new Graph('fp16');
    const x = g.addInput('x', tensorType('float16', [1, 3, 6, 6]));
    const half = (t: Tensor) => Tensor.from('float16', t.dims, Uint16Array.from(t.toFloat64(), float32ToFloat16Bits));
    const conv = (input: Value, M: number, C: number, seed: number, name: string, dead: number[] = []) =>
      g.op(
        'Conv',
        [
          input,
          g.addInitializer(`${name}.w`, half(convWeight(M, C, 3, seed, dead))),
          g.addInitializer(`${name}.b`, half(bias(M, seed + 1, dead))),
        ],
        { pads: [1, 1, 1, 1] },
        { name },
      ).outputs[0];
    const h = g.op('Relu', [conv(x, 6, 3, 1, 'a', [1, 4])], {}, { name: 'relu' }).outputs[0];
    const y = conv(h, 4, 6, 2, 'b');
    y.name = 'y';
    y.type = tensorType('float16', [1, 4, 6, 6]);
    g.outputs.push(y);
    const model = new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 });

    const { model: pruned, groups } = await pruneChannels(model, { ratio: 1 / 3, layerRatios: { b: 0 } });
    expect(groups.find((gr) => gr.producers.includes('a'))).toMatchObject({ channelsBefore: 6, channelsAfter: 4 });
    const weights = [...pruned.graph.initializers.values()].map((v) => v.const!);
    expect(weights.every((t) => t.dtype === 'float16')).toBe(true);
    expect(weights.map((t) => t.dims[0] * 10 + (t.dims[1] ?? 0))).toEqual(expect.arrayContaining([43, 44]));

    const feeds = { x: half(randomTensor([1, 3, 6, 6], 3)) };
    const [before, after] = [(await runOrt(model, feeds)).y, (await runOrt(pruned, feeds)).y];
    expect(after.type).toBe('float16');
    expect(Array.from(after.data as Uint16Array)).toEqual(Array.from(before.data as Uint16Array));
  });
});
