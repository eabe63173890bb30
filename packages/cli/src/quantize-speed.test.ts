/**
 * `edgeml quantize`'s speed check and `--mode auto`, end to end on the MNIST CNN fixture with
 * real digits: the report carries what was measured on onnxruntime, and the warning line
 * appears exactly when the measured speed-up is below 1 (whichever way this run's timing went).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, encodeNpy } from '@edgeml/core';
import { runCli } from './testing/run-cli.js';
import { mnistSplit } from '../../../tests/support/mnist.js';
import type { QuantizeReport } from './commands/quantize.js';

const MNIST = path.resolve(import.meta.dirname, '../../../tests/fixtures/mnist-cnn.onnx');

/** A fresh folder with six real digits as `image` samples. */
function digitsFolder(): { dir: string; samples: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-qspeed-'));
  const samples = path.join(dir, 'samples');
  fs.mkdirSync(samples);
  mnistSplit()
    .test.images.slice(0, 6)
    .forEach((img, i) =>
      fs.writeFileSync(path.join(samples, `s${i}.npy`), encodeNpy(Tensor.from('float32', [1, 1, 28, 28], img))),
    );
  return { dir, samples };
}

/** The warning line, if the run printed one. */
const warningOf = (err: string) => err.split('\n').find((l) => l.startsWith('edgeml quantize: warning: '));

describe('edgeml quantize speed check', () => {
  it('times float against int8 on the target, profiles it, and warns exactly when it is slower', async () => {
    const { dir, samples } = digitsFolder();
    const out = path.join(dir, 'int8.onnx');
    const r = await runCli(['quantize', MNIST, '-o', out, '--mode', 'static', '--calibration', samples, '--json']);
    expect(r.code).toBe(0);
    const speed = (JSON.parse(r.out) as QuantizeReport).speed!;
    expect(speed).toMatchObject({ runtime: 'onnxruntime-node', threads: 1, profiledOn: 'onnxruntime-node' });
    expect(speed.runs).toBeGreaterThan(0);
    expect(speed.speedup).toBeCloseTo(speed.floatP50Ms / speed.quantizedP50Ms, 6);
    expect(speed.qdqShare).toBeGreaterThan(0);
    expect(speed.qdqShare).toBeLessThan(1);
    // The static model runs integer convolutions: the profile shows them.
    expect(speed.topOps.map((o) => o.opType)).toContain('QLinearConv');
    const warning = warningOf(r.err);
    if (speed.speedup < 1) {
      expect(speed.reason).toBeTruthy();
      expect(warning).toContain(`slower than float on onnxruntime-node (${speed.speedup.toFixed(2)}x`);
      expect(warning).toContain(speed.reason);
    } else {
      expect(speed.reason).toBeUndefined();
      expect(warning).toBeUndefined();
    }
  }, 60_000);

  it('prints the speed in the text report, and --no-speed-check skips it', async () => {
    const { dir, samples } = digitsFolder();
    const args = ['quantize', MNIST, '-o', path.join(dir, 'int8.onnx'), '--mode', 'static', '--calibration', samples];
    const text = await runCli(args);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^speed {6}\d+\.\d\dx float on onnxruntime-node \(p50 /m);
    expect(text.out).toMatch(/^profile {4}\S+ \d+ %/m);
    const skipped = await runCli([...args, '--no-speed-check', '--json']);
    expect(skipped.code).toBe(0);
    expect((JSON.parse(skipped.out) as QuantizeReport).speed).toBeUndefined();
    expect(warningOf(skipped.err)).toBeUndefined();
  }, 60_000);

  it('--mode auto on wasm keeps the fastest form as accurate as static, and reports each', async () => {
    const { dir, samples } = digitsFolder();
    const out = path.join(dir, 'auto.onnx');
    const r = await runCli([
      ...['quantize', MNIST, '-o', out, '--mode', 'auto', '--calibration', samples],
      ...['--target', 'wasm', '--sqnr-margin', '2', '--json'],
    ]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as QuantizeReport;
    const candidates = report.speed!.candidates!;
    expect(candidates.map((c) => c.mode)).toEqual(['static', 'hybrid', 'dynamic']);
    const [chosen] = candidates.filter((c) => c.chosen);
    expect(report.mode).toBe(chosen.mode);
    const eligible = candidates.filter((c) => c.p50Ms !== undefined && c.sqnrDb! >= candidates[0].sqnrDb! - 2);
    expect(chosen.p50Ms).toBe(Math.min(...eligible.map((c) => c.p50Ms!)));
    expect(report.speed!.runtime).toBe('onnxruntime-web');
    expect(report.target).toMatchObject({ runtime: 'onnxruntime-web', loads: true });
    expect(fs.existsSync(out)).toBe(true);
  }, 120_000);

  it('refuses --sqnr-margin outside --mode auto, naming the option', async () => {
    const { dir, samples } = digitsFolder();
    const r = await runCli([
      ...['quantize', MNIST, '-o', path.join(dir, 'x.onnx'), '--mode', 'static'],
      ...['--calibration', samples, '--sqnr-margin', '1'],
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^edgeml quantize: --sqnr-margin is for --mode auto/);
  });
});
