/** `edgeml quantize` end to end: real files, onnxruntime as the judge of the output. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Graph, Model, Tensor, tensorType, encodeModel, encodeNpy, observeCodec } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { runCli } from './testing/run-cli.js';
import { defaultModelPath } from './default-model.js';
import { REDUCE_RANGE, gemmThenMinInt16 } from '../../../tests/support/models.js';
import type { QuantizeReport } from './commands/quantize.js';

const run = runCli;
const tmpdir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-qcli-'));

/** A small conv classifier with fixed weights, for static quantization from .npy samples. */
function convModel(): Uint8Array {
  const g = new Graph('net');
  const x = g.addInput('image', tensorType('float32', [1, 1, 8, 8]));
  const w = Float32Array.from({ length: 4 * 9 }, (_, i) => Math.sin(i) * 0.5);
  const c = g.op(
    'Conv',
    [
      x,
      g.addInitializer('w', Tensor.from('float32', [4, 1, 3, 3], w)),
      g.addInitializer('b', Tensor.from('float32', [4], [0.1, -0.1, 0.2, 0])),
    ],
    { pads: [1, 1, 1, 1] },
    { name: 'conv' },
  ).outputs[0];
  const r = g.op('Relu', [c], {}, { name: 'relu' }).outputs[0];
  const f = g.op('Flatten', [r], {}, { name: 'flat' }).outputs[0];
  const y = g.op(
    'Gemm',
    [
      f,
      g.addInitializer(
        'fc',
        Tensor.from(
          'float32',
          [256, 3],
          Float32Array.from({ length: 768 }, (_, i) => Math.cos(i) * 0.1),
        ),
      ),
    ],
    {},
    { name: 'fc' },
  ).outputs[0];
  y.name = 'scores';
  y.type = tensorType('float32', [1, 3]);
  g.outputs.push(y);
  return encodeModel(new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 }));
}

/** The conv model in a fresh folder, with a samples/ folder holding one batch file of `count` images. */
function convWithSamples(
  count: number,
  wave: (i: number) => number,
): { dir: string; model: string; samples: string; batch: Float32Array } {
  const dir = tmpdir();
  const model = path.join(dir, 'net.onnx');
  fs.writeFileSync(model, convModel());
  const samples = path.join(dir, 'samples');
  fs.mkdirSync(samples);
  const batch = Float32Array.from({ length: count * 64 }, (_, i) => wave(i));
  fs.writeFileSync(path.join(samples, 'batch.npy'), encodeNpy(Tensor.from('float32', [count, 1, 8, 8], batch)));
  return { dir, model, samples, batch };
}

describe('edgeml quantize', () => {
  it('dynamic int8 on the embedded Silero VAD: writes a model onnxruntime loads, leaves the input untouched', async () => {
    const dir = tmpdir();
    const input = defaultModelPath();
    const before = fs.readFileSync(input);
    const out = path.join(dir, 'vad.int8.onnx');
    const r = await run(['quantize', input, '-o', out, '--ops', 'Conv,LSTM', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as QuantizeReport;
    expect(report).toMatchObject({ input, output: out, mode: 'dynamic', quantizedNodes: 44, skippedNodes: [] });
    expect(report.sizeAfter).toBe(fs.statSync(out).size);
    expect(report.sizeAfter).toBeLessThan(report.sizeBefore);
    expect(report.sizeAfter).toBeLessThan(report.sizeBefore / 3);
    expect(fs.readFileSync(input).equals(before)).toBe(true);
    const s = await ort.InferenceSession.create(out);
    expect(s.inputNames).toEqual(['input', 'sr', 'h', 'c']);
    await s.release();
  });

  it('static QDQ decodes the model once and encodes it only for sessions and the final save', async () => {
    const { dir, model, samples } = convWithSamples(8, (i) => Math.cos(i * 0.21));
    const counts = { encode: 0, decode: 0 };
    const stop = observeCodec((e) => counts[e.kind]++);
    const sessions = vi.spyOn(NodeBackend.prototype, 'createSession');
    try {
      const r = await run([
        'quantize',
        model,
        '-o',
        path.join(dir, 'q.onnx'),
        '--mode',
        'static',
        '--calibration',
        samples,
        // The speed check's sessions and encodings are its own (quantize-speed.test.ts).
        '--no-speed-check',
      ]);
      expect(r.err).toBe('');
    } finally {
      stop();
    }
    // Calibration (its float outputs are kept as the reference), bias correction's measuring run
    // and its check (float once, the model without and with the corrections), then the quantized
    // model for the error report.
    expect(sessions).toHaveBeenCalledTimes(6);
    sessions.mockRestore();
    expect(counts).toEqual({ decode: 1, encode: 6 + 1 });
  });

  it('static QDQ from a folder of .npy samples reports SQNR and writes the report file', async () => {
    // One file holding a batch of 16 images (the model takes batch 1: the CLI splits it), one single image.
    const { dir, model, samples, batch } = convWithSamples(16, (i) => Math.sin(i * 0.37));
    fs.writeFileSync(
      path.join(samples, 'one.npy'),
      encodeNpy(Tensor.from('float32', [1, 8, 8], batch.subarray(0, 64))),
    );
    const out = path.join(dir, 'net.qdq.onnx');
    const reportFile = path.join(dir, 'report.json');
    const r = await run([
      'quantize',
      model,
      '-o',
      out,
      '--mode',
      'static',
      '--calibration',
      samples,
      '--per-channel',
      '--report',
      reportFile,
      '--no-speed-check',
      '--json',
    ]);
    expect(r.err).toBe('');
    const report = JSON.parse(r.out) as QuantizeReport;
    expect(report.quantizedNodes).toBeGreaterThanOrEqual(4);
    expect(report.sqnrDb).toBeGreaterThan(20);
    expect(JSON.parse(fs.readFileSync(reportFile, 'utf8'))).toEqual(report);
    expect(report.tensorErrors!.map((e) => e.name)).toContain('scores');
    const strict = await run([
      'quantize',
      model,
      '-o',
      path.join(dir, 'strict.onnx'),
      '--mode',
      'static',
      '--calibration',
      samples,
      '--min-sqnr',
      String(Math.ceil(report.sqnrDb! + 3)),
      '--json',
    ]);
    const s = JSON.parse(strict.out) as QuantizeReport;
    expect(s.fallbackNodes!.length).toBeGreaterThan(0);
    expect(s.budgetMet).toBe(s.sqnrDb! >= Math.ceil(report.sqnrDb! + 3));
    expect(fs.existsSync(out)).toBe(true);

    // Per-tensor type: the fc weight as uint8 (asymmetric) while the conv weight stays int8; the onnx package reads the types.
    const typed = path.join(dir, 'typed.onnx');
    expect(
      (await run(['quantize', model, '-o', typed, '--mode', 'static', '--calibration', samples, '--type', 'fc=uint8']))
        .code,
    ).toBe(0);
    const py = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        'import onnx,sys,json; m=onnx.load(sys.argv[1]); print(json.dumps({i.name: i.data_type for i in m.graph.initializer}))',
        typed,
      ],
      { encoding: 'utf8' },
    );
    const types = JSON.parse(py.stdout) as Record<string, number>;
    expect([types.fc_quantized, types.w_quantized]).toEqual([2, 3]); // UINT8, INT8
    expect(
      (await run(['quantize', model, '-o', typed, '--mode', 'static', '--calibration', samples, '--type', 'fc'])).code,
    ).toBe(2);
  });

  it('--reduce-range keeps int8 weights to 7 bits, --no-reduce-range to 8; the default follows this CPU', async () => {
    const { dir, model, samples } = convWithSamples(8, (i) => Math.cos(i * 0.21));
    const largest = (file: string) =>
      Number(
        spawnSync(
          '/usr/bin/python3',
          [
            '-c',
            'import onnx,sys; from onnx import numpy_helper as h; m=onnx.load(sys.argv[1]); print(int(abs(h.to_array(next(i for i in m.graph.initializer if i.name=="w_quantized")).astype(int)).max()))',
            file,
          ],
          { encoding: 'utf8' },
        ).stdout,
      );
    const reports: Record<string, QuantizeReport> = {};
    for (const flag of ['--reduce-range', '--no-reduce-range', undefined]) {
      const out = path.join(dir, `${flag ?? 'default'}.onnx`);
      const args = ['quantize', model, '-o', out, '--mode', 'static', '--calibration', samples, '--no-speed-check'];
      const r = await run([...args, ...(flag ? [flag] : []), '--json']);
      expect(r.code, r.err).toBe(0);
      reports[flag ?? 'default'] = { ...(JSON.parse(r.out) as QuantizeReport), output: out };
    }
    expect(largest(reports['--reduce-range'].output)).toBeLessThanOrEqual(64);
    expect(largest(reports['--no-reduce-range'].output)).toBe(127);
    expect(largest(reports.default.output)).toBe(REDUCE_RANGE ? 64 : 127);
    // Said only when the CPU decided it, with the reason.
    expect(reports['--reduce-range'].reducedRange).toBeUndefined();
    if (REDUCE_RANGE) expect(reports.default.reducedRange).toMatch(/onnxruntime-node on this CPU \(x86-64/);
    else expect(reports.default.reducedRange).toBeUndefined();
    const both = await run(['quantize', model, '-o', path.join(dir, 'x.onnx'), '--reduce-range', '--no-reduce-range']);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/give --reduce-range or --no-reduce-range, not both/);
  });

  it('fp16 and int4 modes write loadable models', async () => {
    const dir = tmpdir();
    const model = path.join(dir, 'net.onnx');
    fs.writeFileSync(model, convModel());
    for (const [mode, extra] of [
      ['fp16', []],
      ['int4', ['--block-size', '16']],
      ['int4', ['--block-size', '16', '--algorithm', 'hqq']],
    ] as const) {
      const out = path.join(dir, `net.${mode}.onnx`);
      const r = await run(['quantize', model, '-o', out, '--mode', mode, ...extra]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/target {5}onnxruntime-node: loads/);
    }
  });

  it('bad input: clear one-line errors, exit codes 1 and 2, nothing written', async () => {
    const dir = tmpdir();
    const model = path.join(dir, 'net.onnx');
    fs.writeFileSync(model, convModel());
    const out = path.join(dir, 'out.onnx');
    let r = await run(['quantize', model]);
    expect(r.code).toBe(2);
    r = await run(['quantize', model, '-o', model]);
    expect(r.code).toBe(2);
    r = await run(['quantize', model, '-o', out, '--mode', 'static']);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/needs --calibration/)]);
    r = await run(['quantize', model, '-o', out, '--mode', 'bogus']);
    expect(r.code).toBe(2);
    fs.mkdirSync(path.join(dir, 'bad'));
    fs.writeFileSync(
      path.join(dir, 'bad', 'x.npy'),
      encodeNpy(Tensor.from('float32', [1, 1, 4, 4], new Float32Array(16))),
    );
    r = await run(['quantize', model, '-o', out, '--mode', 'static', '--calibration', path.join(dir, 'bad')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/input 'image' has shape \[1,1,4,4\], the model expects \[1,1,8,8\]/);
    r = await run(['quantize', model, '-o', out, '--mode', 'static', '--calibration', path.join(dir, 'missing')]);
    expect(r.code).toBe(1);
    const weightless = path.join(dir, 'weightless.onnx');
    const g = new Graph('g');
    const x = g.addInput('x', tensorType('float32', [1]));
    const y = g.op('Relu', [x]).outputs[0];
    y.type = tensorType('float32', [1]);
    g.outputs.push(y);
    fs.writeFileSync(weightless, encodeModel(new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 })));
    r = await run(['quantize', weightless, '-o', out]);
    expect([r.code, r.err]).toEqual([1, expect.stringMatching(/no float32 weights/)]);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('edgeml quantize with image calibration', () => {
  it('reads PNG and JPEG digits, resizes them, and calibrates the MNIST CNN to high SQNR', async () => {
    const { PNG } = await import('pngjs');
    const jpeg = (await import('jpeg-js')).default;
    const { mnistSplit } = await import('../../../tests/support/mnist.js');
    const { train } = mnistSplit();
    const dir = tmpdir();
    const imgs = path.join(dir, 'images');
    fs.mkdirSync(imgs);
    for (let i = 0; i < 20; i++) {
      const digit = train.images[i * 400];
      const size = i % 2 ? 28 : 56; // half of them at twice the size: the CLI resizes
      const rgba = Buffer.alloc(size * size * 4);
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const v = Math.round(255 * digit[Math.floor((y * 28) / size) * 28 + Math.floor((x * 28) / size)]);
          rgba.set([v, v, v, 255], (y * size + x) * 4);
        }
      const file = path.join(imgs, `d${String(i).padStart(2, '0')}.${i % 4 === 3 ? 'jpg' : 'png'}`);
      if (file.endsWith('.png')) {
        const png = new PNG({ width: size, height: size });
        rgba.copy(png.data);
        fs.writeFileSync(file, PNG.sync.write(png));
      } else fs.writeFileSync(file, jpeg.encode({ data: rgba, width: size, height: size }, 95).data);
    }
    const out = path.join(dir, 'mnist.qdq.onnx');
    const r = await run([
      'quantize',
      path.resolve('tests/fixtures/mnist-cnn.onnx'),
      '-o',
      out,
      '--mode',
      'static',
      '--calibration',
      imgs,
      '--scale',
      '1/255',
      '--no-speed-check',
      '--json',
    ]);
    expect(r.err).toBe('');
    const report = JSON.parse(r.out) as QuantizeReport;
    expect(report.sqnrDb).toBeGreaterThan(30);
    expect(report.quantizedNodes).toBeGreaterThanOrEqual(5);
  });

  it('explains what image calibration needs', async () => {
    const dir = tmpdir();
    fs.writeFileSync(path.join(dir, 'x.png'), 'not a png');
    const r = await run([
      'quantize',
      path.resolve('tests/fixtures/mnist-cnn.onnx'),
      '-o',
      path.join(dir, 'o.onnx'),
      '--mode',
      'static',
      '--calibration',
      dir,
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/image '.*x\.png' cannot be decoded/);
  });
});

describe('edgeml quantize --target', () => {
  it('wasm: refuses to write a model onnxruntime-web cannot run, naming every op in the way; --force writes it', async () => {
    const dir = tmpdir();
    const input = path.join(dir, 'gemm-min.onnx');
    fs.writeFileSync(input, encodeModel(gemmThenMinInt16()));
    const out = path.join(dir, 'out.onnx');
    const refused = await run(['quantize', input, '-o', out, '--target', 'wasm']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/does not load in onnxruntime-web: no kernel for Min \(2 nodes\); nothing was written/);
    expect(fs.existsSync(out)).toBe(false);
    const forced = await run(['quantize', input, '-o', out, '--target', 'wasm', '--force', '--json']);
    expect(forced.code).toBe(0);
    expect((JSON.parse(forced.out) as QuantizeReport).target).toMatchObject({
      runtime: 'onnxruntime-web',
      loads: false,
      unsupportedOps: [{ opType: 'Min', nodes: ['min_a', 'min_b'] }],
    });
    expect(fs.existsSync(out)).toBe(true);
  });

  it('wasm: the embedded Silero VAD, quantized, loads in onnxruntime-web', async () => {
    const r = await run(['quantize', defaultModelPath(), '-o', path.join(tmpdir(), 'vad.onnx'), '--target', 'wasm']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/target {5}onnxruntime-web: loads/);
  });
});
