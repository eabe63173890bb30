/**
 * `edgeml export` end to end: PP-OCRv4 det (paddle2onnx) written as .tflite, run on TFLite's own
 * interpreter and compared with onnxruntime by the command itself (tests/tflite-real-models.test.ts
 * compares on text images too); usage and input errors exit 2 and 1 and write nothing.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Graph, Model, encodeModel, tensorType } from '@edgeml/core';
import { runCli } from './testing/run-cli.js';
import type { ExportCommandReport } from './commands/export.js';
import { PPOCR_V4_DET } from '../../../tests/support/model-cache.js';
import { defaultModelPath } from './default-model.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-export-cli-'));
const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('edgeml export', () => {
  it('PP-OCRv4 det → .tflite: agrees with onnxruntime within 1e-4, transposes only at the edge, input untouched', async () => {
    const input = PPOCR_V4_DET();
    const before = sha(input);
    const out = path.join(tmp(), 'det.tflite');
    const r = await runCli(['export', input, '-o', out, '--shape', 'x=1x3x64x64', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.out) as ExportCommandReport;
    expect(rep.format).toBe('tflite');
    expect(rep.sizeBytes.tflite).toBe(fs.statSync(out).size);
    expect(rep.opCounts).toMatchObject({ CONV_2D: 48, DEPTHWISE_CONV_2D: 14, HARD_SWISH: 24, TRANSPOSE_CONV: 2 });
    expect(rep.transposes).toBe(1); // the NCHW input; the 1-channel output needs only a RESHAPE
    expect(rep.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: [1, 3, 64, 64], layout: 'as ONNX' }]);
    expect(rep.agreement).toHaveLength(1);
    expect(rep.agreement[0].relativeDiff).toBeLessThanOrEqual(1e-4);
    expect(sha(input)).toBe(before);
  });

  it('--fix sr=16000 on Silero VAD: the If on the sample rate folds, its LSTM is unrolled, sr is no input', async () => {
    const out = path.join(tmp(), 'vad.tflite');
    const r = await runCli([
      'export',
      defaultModelPath(),
      '-o',
      out,
      '--fix',
      'sr=16000',
      '--shape',
      'input=1x512',
      '--json',
    ]);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
    const rep = JSON.parse(r.out) as ExportCommandReport;
    expect(rep.inputs.map((i) => i.name)).not.toContain('sr');
    expect(rep.opCounts.IF).toBeUndefined();
    expect(rep.prepared.specialize).toBe(1);
    expect(Object.keys(rep.lowered).filter((k) => k.startsWith('LSTM unrolled'))).not.toEqual([]);
    expect(rep.agreement.every((a) => a.relativeDiff <= 1e-4)).toBe(true);
    const bad = await runCli(['export', defaultModelPath(), '-o', out, '--fix', 'rate=16000']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/no input 'rate'/);
  });

  it('--io-layout nhwc --quantize fp16: NHWC input, float16 weights, half the size, agreement within 1e-2', async () => {
    const dir = tmp();
    const [float, half] = [path.join(dir, 'det.tflite'), path.join(dir, 'det.fp16.tflite')];
    const common = [PPOCR_V4_DET(), '--shape', 'x=1x3x64x64', '--io-layout', 'nhwc', '--json'];
    const a = await runCli(['export', ...common, '-o', float]);
    const b = await runCli(['export', ...common, '-o', half, '--quantize', 'fp16']);
    expect([a.code, b.code, a.err + b.err]).toEqual([0, 0, '']);
    const [repA, repB] = [JSON.parse(a.out), JSON.parse(b.out)] as ExportCommandReport[];
    expect(repA.transposes).toBe(0);
    expect(repA.inputs[0]).toMatchObject({ shape: [1, 64, 64, 3], layout: 'nhwc' });
    expect(repA.outputs[0]).toMatchObject({ shape: [1, 64, 64, 1], layout: 'nhwc' });
    expect(repA.agreement[0].relativeDiff).toBeLessThanOrEqual(1e-4);
    expect(repB.float16Weights).toBeGreaterThan(50);
    expect(repB.opCounts.DEQUANTIZE).toBe(repB.float16Weights);
    expect(repB.agreement[0].relativeDiff).toBeLessThanOrEqual(1e-2);
    expect(repB.sizeBytes.tflite).toBeLessThan(0.6 * repA.sizeBytes.tflite);
  });

  it('usage errors exit 2, input errors exit 1 with one line naming the cause; nothing is written', async () => {
    const dir = tmp();
    const g = new Graph('g');
    const x = g.addInput('x', tensorType('float32', [1, 4]));
    const y = g.op('Hardmax', [x], {}, { name: 'the_hardmax', outputs: ['y'] }).outputs[0];
    g.outputs.push(y);
    const model = path.join(dir, 'hardmax.onnx');
    fs.writeFileSync(model, encodeModel(new Model(g, { opsetImports: new Map([['', 13]]) })));
    const out = path.join(dir, 'out.tflite');
    expect((await runCli(['export', model])).code).toBe(2);
    const ext = await runCli(['export', model, '-o', path.join(dir, 'out.pb')]);
    expect([ext.code, ext.err]).toEqual([2, expect.stringMatching(/export writes \.tflite/)]);
    const int4 = await runCli(['export', model, '-o', out, '--quantize', 'int4']);
    expect([int4.code, int4.err]).toEqual([
      2,
      expect.stringMatching(/--quantize must be one of none, fp16, dynamic, int8/),
    ]);
    const refused = await runCli(['export', model, '-o', out]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^edgeml export: node 'the_hardmax' \(Hardmax\) has no TFLite builtin/);
    expect(refused.err.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(out)).toBe(false);
    const help = await runCli(['export', '--help']);
    expect([help.code, help.out]).toEqual([0, expect.stringContaining('--io-layout')]);
  });
});
