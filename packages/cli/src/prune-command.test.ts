/** `edgeml prune` end to end on the MNIST fixture, judged by onnxruntime. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Graph, Model, Tensor, encodeModel, tensorType } from '@edgeml/core';
import { pruningSchemes } from '@edgeml/prune';
import { runCli } from './testing/run-cli.js';
import type { PruneReport } from './commands/prune.js';
import { randomTensor } from '../../../tests/support/models.js';

const MNIST = path.join(__dirname, '..', '..', '..', 'tests', 'fixtures', 'mnist-cnn.onnx');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-prune-cli-'));

describe('edgeml prune', () => {
  it('channel: --json reports parameters, MACs, sizes and groups; onnxruntime runs the result; the input is untouched', async () => {
    const before = fs.readFileSync(MNIST);
    const out = path.join(tmp(), 'slim.onnx');
    const r = await runCli(['prune', MNIST, '-o', out, '--ratio', '0.5', '--bench', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.out) as PruneReport;
    expect(rep).toMatchObject({
      method: 'channel',
      paramsBefore: 11738,
      paramsAfter: 5874,
      macsBefore: 126720,
      macsAfter: 63360,
      skipped: [{ name: 'fc', reason: "graph output 'logits' must keep its shape" }],
      groups: [{ producers: ['conv'], channelsBefore: 8, channelsAfter: 4 }],
    });
    expect(rep.sizeAfter).toBeLessThan(rep.sizeBefore * 0.6);
    expect(rep.sizeAfter).toBe(fs.statSync(out).size);
    expect(rep.latency!.beforeMs).toBeGreaterThan(0);
    expect(rep.latency!.speedup).toBeCloseTo(rep.latency!.beforeMs / rep.latency!.afterMs, 9);
    const s = await ort.InferenceSession.create(out);
    expect(
      (await s.run({ image: new ort.Tensor('float32', new Float32Array(784), [1, 1, 28, 28]) })).logits.dims,
    ).toEqual([1, 10]);
    expect(Buffer.compare(fs.readFileSync(MNIST), before)).toBe(0);
  });

  it('magnitude and 2:4: sparsity and a smaller gzip size, same dense size', async () => {
    const dir = tmp();
    const mag = JSON.parse(
      (
        await runCli([
          'prune',
          MNIST,
          '-o',
          path.join(dir, 'm.onnx'),
          '--method',
          'magnitude',
          '--ratio',
          '0.8',
          '--json',
        ])
      ).out,
    ) as PruneReport;
    expect(mag.sparsity!).toBeCloseTo(0.8, 2);
    expect(mag.gzipAfter).toBeLessThan(mag.gzipBefore * 0.5);
    expect(mag.paramsAfter).toBe(mag.paramsBefore);
    const nm = JSON.parse(
      (await runCli(['prune', MNIST, '-o', path.join(dir, 'n.onnx'), '--method', 'nm', '--nm', '2:4', '--json'])).out,
    ) as PruneReport;
    expect(nm.sparsity!).toBeGreaterThan(0.45);
  });

  it('bad input: clear one-line reasons', async () => {
    const dir = tmp();
    // 'flat' has four equally important channels; 'steep' ranges 1:4:9:16. One global threshold
    // removing 85 % of all channels takes steep's two weakest and then every one of flat's.
    const g = new Graph('two');
    const x = g.addInput('x', tensorType('float32', [1, 2, 6, 6]));
    const c1 = g.op(
      'Conv',
      [x, g.addInitializer('w1', Tensor.from('float32', [4, 2, 3, 3], new Float32Array(72).fill(0.1)))],
      { pads: [1, 1, 1, 1] },
      { name: 'tiny' },
    ).outputs[0];
    const steep = Float32Array.from(
      randomTensor([4, 4, 3, 3], 2).toFloat64(),
      (v, i) => (Math.sign(v) || 1) * (Math.floor(i / 36) + 1) ** 2,
    );
    const c2 = g.op(
      'Conv',
      [
        g.op('Relu', [c1], {}, { name: 'r' }).outputs[0],
        g.addInitializer('w2', Tensor.from('float32', [4, 4, 3, 3], steep)),
      ],
      { pads: [1, 1, 1, 1] },
      { name: 'big' },
    ).outputs[0];
    const y = g.op('Conv', [c2, g.addInitializer('w3', randomTensor([3, 4, 1, 1], 3))], {}, { name: 'head' })
      .outputs[0];
    y.name = 'y';
    y.type = tensorType('float32', [1, 3, 6, 6]);
    g.outputs.push(y);
    const two = path.join(dir, 'two.onnx');
    fs.writeFileSync(two, encodeModel(new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 })));
    const noWeights = new Graph('none');
    const a = noWeights.addInput('x', tensorType('float32', [1, 4]));
    noWeights.outputs.push(noWeights.op('Relu', [a], {}, { name: 'relu' }).outputs[0]);
    const none = path.join(dir, 'none.onnx');
    fs.writeFileSync(none, encodeModel(new Model(noWeights, { opsetImports: new Map([['', 17]]), irVersion: 8 })));
    const cases: [string[], RegExp][] = [
      [[MNIST, '--ratio', '1'], /--ratio must be in \[0, 1\), got '1'/],
      [[MNIST, '--exclude', 'node:nope'], /the model has no node 'nope'/],
      [[none], /no prunable channel groups/],
      [[two, '--ratio', '0.85', '--global'], /tiny would lose all 4 of its channels/],
      [['missing.onnx'], /model file 'missing.onnx' does not exist/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['prune', ...args, '-o', path.join(dir, 'out.onnx')]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    expect(fs.existsSync(path.join(dir, 'out.onnx'))).toBe(false);
    expect((await runCli(['prune', MNIST])).code).toBe(2);
  });

  it('lists its methods, with what each does, from the pruning registry', async () => {
    const r = await runCli(['prune', '--help']);
    expect(r.code).toBe(0);
    for (const s of pruningSchemes.list()) expect(r.out).toContain(`${s.name.padEnd(24)}  ${s.summary}`);
    expect(r.out).toContain('[--method channel|magnitude|nm]');
  });
});
