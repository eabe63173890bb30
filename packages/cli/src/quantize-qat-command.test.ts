/** `edgeml quantize --mode qat` end to end: a folder of MNIST digits, the QAT model judged by onnxruntime. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Tensor, encodeNpy } from '@edgeml/core';
import { loadMnist } from '@edgeml/distill';
import { runCli } from './testing/run-cli.js';
import type { QatReport } from './commands/quantize-qat.js';

const FIXTURE = path.join(__dirname, '..', '..', '..', 'tests', 'fixtures', 'mnist-cnn.onnx');

/** 600 digits as image.npy (and labels.npy unless `labels` is false). */
async function digitsFolder(labels: boolean): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-qat-cli-'));
  const { train } = await loadMnist();
  const [, part] = train.split(600 / train.size, 4);
  fs.writeFileSync(path.join(dir, 'image.npy'), encodeNpy(part.inputs.image));
  if (labels)
    fs.writeFileSync(
      path.join(dir, 'labels.npy'),
      encodeNpy(Tensor.from('int64', [part.size], Array.from(part.labels!, BigInt))),
    );
  return dir;
}

describe('edgeml quantize --mode qat', () => {
  it('trains label-free on a folder, reports float, PTQ and QAT on its held-out fifth, and writes a QDQ model onnxruntime runs', async () => {
    const dir = await digitsFolder(true);
    const out = path.join(dir, 'qat.onnx');
    const r = await runCli(['quantize', FIXTURE, '-o', out, '--mode', 'qat', '--data', dir, '--epochs', '1', '--json']);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as QatReport;
    expect(report).toMatchObject({ mode: 'qat', supervision: 'teacher', weightType: 'int8', activationType: 'uint8' });
    expect(report.heldOutSamples).toBe(120);
    expect(report.epochs).toHaveLength(1);
    for (const figures of [report.float, report.ptq, report.qat]) expect(figures.accuracy).toBeGreaterThan(0.9);
    for (const figures of [report.ptq, report.qat]) expect(figures.sqnrDb).toBeGreaterThan(10);
    const session = await ort.InferenceSession.create(out);
    const logits = (await session.run({ image: new ort.Tensor('float32', new Float32Array(784), [1, 1, 28, 28]) }))
      .logits;
    expect(logits.dims).toEqual([1, 10]);
    await session.release();
  }, 120_000);

  it('--labels trains on the labels; 4-bit types are taken', async () => {
    const dir = await digitsFolder(true);
    const out = path.join(dir, 'qat4.onnx');
    const flags = '--labels --epochs 1 --weight-type int4 --activation-type uint4'.split(' ');
    const r = await runCli(['quantize', FIXTURE, '-o', out, '--mode', 'qat', '--data', dir, ...flags]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/qat: int4 weights per channel, uint4 activations, with labels/);
    expect(r.out).toMatch(/held-out {3}120 samples: float \d+\.\d\d %; ptq \d+\.\d\d %, output SQNR .* dB; qat /);
    expect(fs.existsSync(out)).toBe(true);
  }, 120_000);

  it('refuses what it cannot do, naming the fix', async () => {
    const dir = await digitsFolder(false);
    const qat = ['quantize', FIXTURE, '-o', path.join(dir, 'x.onnx'), '--mode', 'qat'];
    const noLabels = await runCli([...qat, '--data', dir, '--labels']);
    expect(noLabels.code).toBe(1);
    expect(noLabels.err).toMatch(/--labels needs labelled data; .* has no labels\.npy/);
    const noData = await runCli(qat);
    expect(noData.code).toBe(2);
    expect(noData.err).toMatch(/--mode qat needs --data/);
    const badFreeze = await runCli([...qat, '--data', dir, '--freeze-bn-after', '-1']);
    expect(badFreeze.code).toBe(2);
    expect(badFreeze.err).toMatch(/--freeze-bn-after/);
    expect(fs.existsSync(path.join(dir, 'x.onnx'))).toBe(false);
  }, 60_000);
});
