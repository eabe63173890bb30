/**
 * `edgeml quantize` with sensitivity, mixed precision, the SQNR floor and `--method auto`, end
 * to end on files: a network with one layer made sensitive on purpose, onnxruntime the judge.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeModel, encodeNpy } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { compareOutputs } from '@edgeml/quantize';
import { runCli as run } from './testing/run-cli.js';
import { outlierChannelNet, outlierChannelSamples } from '../../../tests/support/models.js';
import type { QuantizeReport } from './commands/quantize.js';

/** The model and a folder of 8 calibration samples (.npy), in a fresh folder. */
function outlierFiles(): { dir: string; model: string; samples: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-qsens-'));
  const model = path.join(dir, 'net.onnx');
  fs.writeFileSync(model, encodeModel(outlierChannelNet()));
  const samples = path.join(dir, 'samples');
  fs.mkdirSync(samples);
  outlierChannelSamples(8, 100).forEach((s, i) => fs.writeFileSync(path.join(samples, `s${i}.npy`), encodeNpy(s.x)));
  return { dir, model, samples };
}

// These tests read stderr for the floor's warning alone; the speed check (tested in
// quantize-speed.test.ts) would add a slowdown warning on models this small.
const staticArgs = (model: string, out: string, samples: string) => [
  'quantize',
  model,
  '-o',
  out,
  '--mode',
  'static',
  '--calibration',
  samples,
  '--no-speed-check',
];

describe('edgeml quantize: SQNR floor and mixed precision', () => {
  it('warns on stderr under the floor, naming the --min-sqnr setting; that setting meets it', async () => {
    const { dir, model, samples } = outlierFiles();
    const plain = await run([...staticArgs(model, path.join(dir, 'q.onnx'), samples), '--json']);
    expect(plain.code).toBe(0);
    const report = JSON.parse(plain.out) as QuantizeReport;
    expect(report.sqnrDb!).toBeLessThan(20);
    const lines = plain.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^edgeml quantize: warning: output SQNR -?[\d.]+ dB is under the 20 dB floor \(--sqnr-floor\); --min-sqnr 20 keeps \d layer\(s\) out of int8 \(.*narrow \(float\).*\) and reaches [\d.]+ dB$/,
    );
    expect(report.warnings![0]).toMatchObject({ code: 'sqnr-below-floor', floorDb: 20, met: true });

    const fixedFile = path.join(dir, 'fixed.onnx');
    const reportMd = path.join(dir, 'report.md');
    const fixed = await run([
      ...staticArgs(model, fixedFile, samples),
      '--min-sqnr',
      '20',
      '--report',
      reportMd,
      '--json',
    ]);
    expect(fixed.err).toBe('');
    const fixedReport = JSON.parse(fixed.out) as QuantizeReport;
    expect(fixedReport.budgetMet).toBe(true);
    expect(fixedReport.sqnrDb!).toBeGreaterThanOrEqual(20);
    expect(fixedReport.mixedPrecision!.map((l) => l.layer)).toEqual(report.warnings![0].layers.map((l) => l.layer));
    expect(fixedReport.sensitivity![0].layer).toBe('narrow');
    // The file written, on held-out samples through a fresh session.
    const errors = await compareOutputs(
      outlierChannelNet(),
      await loadModel(fixedFile),
      outlierChannelSamples(8, 900),
      new NodeBackend(),
    );
    expect(errors[0].sqnrDb).toBeGreaterThanOrEqual(19);
    const markdown = fs.readFileSync(reportMd, 'utf8');
    expect(markdown).toMatch(/^# Quantization report/);
    expect(markdown).toContain('## Per-layer sensitivity');
    expect(markdown).toMatch(/^\| narrow \| Conv \| 2 \| float \|/m);
    expect(markdown).toContain('## Mixed precision');

    const text = await run([...staticArgs(model, path.join(dir, 't.onnx'), samples), '--min-sqnr', '20']);
    expect(text.out).toMatch(
      /mixed precision \(layers out of int8, cheapest per dB first\):\n(.*\n)* {2}narrow \(Conv\) -> float/,
    );
    expect(text.out).toMatch(
      /sensitivity \(output SQNR gained keeping one layer out of int8, top \d+\):\n {2}narrow \(Conv \+1\) float: \+/,
    );
    // Out of reach: the int16 run search is tried too, and the report says what it measured.
    const unreachable = ['--min-sqnr', '300', '--fallback-precision', 'int16'];
    const short = await run([...staticArgs(model, path.join(dir, 'u.onnx'), samples), ...unreachable, '--json']);
    const runSearch = (JSON.parse(short.out) as QuantizeReport).runSearch!;
    expect(runSearch.met).toBe(false);
    expect(runSearch.measured).toBeGreaterThan(0);
    const shortText = await run([...staticArgs(model, path.join(dir, 'v.onnx'), samples), ...unreachable]);
    expect(shortText.out).toMatch(
      /int16 run search \(runs of activations widened together\): \d+ variant\(s\) measured/,
    );
  });

  it('--evaluation judges on samples of its own: the SQNR reported is the one onnxruntime gives on them', async () => {
    const { dir, model, samples } = outlierFiles();
    const heldOut = path.join(dir, 'held-out');
    fs.mkdirSync(heldOut);
    const evaluation = outlierChannelSamples(8, 900);
    evaluation.forEach((s, i) => fs.writeFileSync(path.join(heldOut, `s${i}.npy`), encodeNpy(s.x)));
    const out = path.join(dir, 'held.onnx');
    const args = [...staticArgs(model, out, samples), '--sqnr-floor', 'off', '--json'];
    const r = await run([...args, '--evaluation', heldOut]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as QuantizeReport;
    const written = await loadModel(out);
    const backend = new NodeBackend();
    const [onHeldOut] = await compareOutputs(outlierChannelNet(), written, evaluation, backend);
    const [onCalibration] = await compareOutputs(outlierChannelNet(), written, outlierChannelSamples(8, 100), backend);
    expect(report.sqnrDb).toBeCloseTo(onHeldOut.sqnrDb, 3);
    expect(Math.abs(onHeldOut.sqnrDb - onCalibration.sqnrDb)).toBeGreaterThan(0.01);
    const alone = await run(['quantize', model, '-o', path.join(dir, 'e.onnx'), '--evaluation', heldOut]);
    expect(alone.code).toBe(2);
    expect(alone.err).toMatch(/--evaluation goes with --calibration/);
  });

  it('--full-integer writes integer inputs and outputs and reports the SQNR measured through them', async () => {
    const { dir, model, samples } = outlierFiles();
    const out = path.join(dir, 'int.onnx');
    const r = await run([...staticArgs(model, out, samples), '--full-integer', '--sqnr-floor', 'off', '--json']);
    expect(r.code).toBe(0);
    const written = await loadModel(out);
    expect(written.graph.inputs[0].dtype).toBe('uint8');
    expect(Number.isFinite((JSON.parse(r.out) as QuantizeReport).sqnrDb)).toBe(true);
  });

  it('takes --sqnr-floor off or another floor, and rejects a bad one naming the flag', async () => {
    const { dir, model, samples } = outlierFiles();
    const off = await run([...staticArgs(model, path.join(dir, 'a.onnx'), samples), '--sqnr-floor', 'off', '--json']);
    expect(off.err).toBe('');
    expect((JSON.parse(off.out) as QuantizeReport).warnings).toBeUndefined();
    const low = await run([...staticArgs(model, path.join(dir, 'b.onnx'), samples), '--sqnr-floor=-50']);
    expect(low.err).toBe('');
    const bad = await run([...staticArgs(model, path.join(dir, 'c.onnx'), samples), '--sqnr-floor', 'high']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--sqnr-floor must be a number of dB or 'off', got 'high'/);
    const precision = await run([
      ...staticArgs(model, path.join(dir, 'd.onnx'), samples),
      '--min-sqnr',
      '20',
      '--fallback-precision',
      'int4',
    ]);
    expect(precision.code).toBe(1);
    expect(precision.err).toMatch(/accuracyBudget\.precisions/);
  });

  it('--method auto reports the method each tensor got', async () => {
    const { dir, model, samples } = outlierFiles();
    const r = await run([
      ...staticArgs(model, path.join(dir, 'auto.onnx'), samples),
      '--method',
      'auto',
      '--sqnr-floor',
      'off',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as QuantizeReport;
    const { counts, methods } = report.calibration!;
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(Object.keys(methods).length);
    for (const m of Object.values(methods)) expect(['minmax', 'percentile', 'entropy']).toContain(m);
    // Chosen by the output: the written model's SQNR, measured here on onnxruntime, is the search's.
    const search = report.rangeSearch!;
    expect(Object.keys(search.wholeModel).sort()).toEqual(['entropy', 'local', 'minmax', 'percentile']);
    const data = outlierChannelSamples(8, 100);
    const written = await loadModel(path.join(dir, 'auto.onnx'));
    const [error] = await compareOutputs(outlierChannelNet(), written, data, new NodeBackend());
    expect(error.sqnrDb).toBeCloseTo(search.sqnrDb, 1);
    expect(search.sqnrDb).toBeGreaterThanOrEqual(Math.max(...Object.values(search.wholeModel)) - 0.5);
    const text = await run([...staticArgs(model, path.join(dir, 'auto2.onnx'), samples), '--method', 'auto']);
    expect(text.out).toMatch(/calibration chosen by output SQNR: whole model minmax [\d.-]+, percentile/);
    const bounded = await run([
      ...staticArgs(model, path.join(dir, 'auto3.onnx'), samples),
      ...['--method', 'auto', '--range-search', '1', '--json'],
    ]);
    expect((JSON.parse(bounded.out) as QuantizeReport).rangeSearch!.steps.length).toBeLessThanOrEqual(1);
    const misplaced = await run([...staticArgs(model, path.join(dir, 'x.onnx'), samples), '--range-search', 'off']);
    expect(misplaced.code).toBe(2);
    expect(misplaced.err).toMatch(/--range-search goes with --method auto/);
  });
});
