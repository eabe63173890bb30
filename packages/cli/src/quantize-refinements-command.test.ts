/** `edgeml quantize --equalize --bias-correction --smooth-quant [alpha]`: flags, report, refusals. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Graph, Model, Tensor, encodeModel, encodeNpy, tensorType } from '@edgeml/core';
import { runCli } from './testing/run-cli.js';
import type { QuantizeReport } from './commands/quantize.js';

/** Conv → Relu → Conv → Flatten → MatMul, with a folder of four .npy samples. */
function fixture(): { model: string; samples: string; out: string } {
  const g = new Graph('net');
  const x = g.addInput('x', tensorType('float32', [1, 2, 4, 4]));
  const w = (name: string, dims: number[], f: (i: number) => number) =>
    g.addInitializer(
      name,
      Tensor.from(
        'float32',
        dims,
        Float32Array.from({ length: dims.reduce((a, b) => a * b) }, (_, i) => f(i)),
      ),
    );
  const c1 = g.op(
    'Conv',
    [x, w('w1', [4, 2, 1, 1], (i) => (i + 1) * (i < 4 ? 0.01 : 1)), w('b1', [4], () => 0.1)],
    {},
    { name: 'c1' },
  );
  const r = g.op('Relu', [c1.outputs[0]], {}, { name: 'r' });
  const c2 = g.op(
    'Conv',
    [r.outputs[0], w('w2', [4, 4, 1, 1], (i) => Math.sin(i)), w('b2', [4], () => 0)],
    {},
    { name: 'c2' },
  );
  const f = g.op('Flatten', [c2.outputs[0]], {}, { name: 'flat' });
  const y = g.op(
    'MatMul',
    [f.outputs[0], w('fc', [64, 3], (i) => Math.cos(i) * 0.1)],
    {},
    { name: 'fc', outputs: ['y'] },
  );
  g.outputs.push(y.outputs[0]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-qref-'));
  const model = path.join(dir, 'net.onnx');
  fs.writeFileSync(model, encodeModel(new Model(g, { opsetImports: new Map([['', 13]]) })));
  const samples = path.join(dir, 'samples');
  fs.mkdirSync(samples);
  for (let s = 0; s < 4; s++)
    fs.writeFileSync(
      path.join(samples, `x.s${s}.npy`),
      encodeNpy(
        Tensor.from(
          'float32',
          [1, 2, 4, 4],
          Float32Array.from({ length: 32 }, (_, i) => Math.sin(i * (s + 1))),
        ),
      ),
    );
  return { model, samples, out: path.join(dir, 'out.onnx') };
}

/** `edgeml quantize <model> -o <out> --mode static --calibration <samples>` and `extra`. */
// These tests read stderr for their own messages; the speed check (tested in quantize-speed.test.ts)
// would add a slowdown warning on models this small.
function staticArgs(f: ReturnType<typeof fixture>, ...extra: string[]): string[] {
  return [
    'quantize',
    f.model,
    '-o',
    f.out,
    '--mode',
    'static',
    '--calibration',
    f.samples,
    '--no-speed-check',
    ...extra,
  ];
}

describe('edgeml quantize refinements', () => {
  it('--equalize --bias-correction report what they changed; a bare --smooth-quant before the model leaves the model path alone', async () => {
    const f = fixture();
    const [command, ...rest] = staticArgs(f, '--per-tensor', '--equalize', '--bias-correction', '--json');
    const r = await runCli([command, '--smooth-quant', ...rest]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as QuantizeReport;
    expect(report.equalization?.pairs.map((p) => [p.first, p.second])).toEqual([['c1', 'c2']]);
    expect(report.biasCorrection?.corrected.map((c) => c.node)).toEqual(['c1', 'c2']);
    // The MatMul reads a Flatten, which cannot absorb the scale: skipped, and said why.
    expect(report.smoothQuant?.skipped[0].reason).toMatch(/Flatten/);
    const text = await runCli(staticArgs(f, '--equalize'));
    expect(text.out).toMatch(/equalized {2}1 Conv pair/);
    // Per-tensor weights are equalized and bias-corrected unless told not to.
    const perTensor = JSON.parse((await runCli(staticArgs(f, '--per-tensor', '--no-equalize', '--json'))).out);
    expect([perTensor.equalization, perTensor.biasCorrection?.corrected.length]).toEqual([undefined, 2]);
  });

  it('--smooth-quant takes an alpha in [0, 1]; the flags are for --mode static', async () => {
    const f = fixture();
    const bad = await runCli(staticArgs(f, '--smooth-quant', '2'));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--smooth-quant must be an alpha in \[0, 1\], got '2'/);
    const dynamic = await runCli(['quantize', f.model, '-o', f.out, '--equalize']);
    expect(dynamic.code).toBe(2);
    expect(dynamic.err).toMatch(/--equalize is for --mode static/);
    const both = await runCli(staticArgs(f, '--equalize', '--no-equalize'));
    expect([both.code, both.err]).toEqual([2, expect.stringMatching(/--equalize or --no-equalize, not both/)]);
  });
});
