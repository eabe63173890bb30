/**
 * `edgeml export --quantize int8|dynamic` end to end: the command calibrates with
 * @edgeml/quantize, writes full-integer int8 tensors (read back from the flatbuffer here), runs
 * the file on TFLite's interpreter against onnxruntime, and reports SQNR and top-1 agreement.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, encodeModel, encodeNpy, seededRandom } from '@edgeml/core';
import { runCli } from './testing/run-cli.js';
import type { ExportCommandReport } from './commands/export.js';
import { ModelBuilder, mobileCnn } from '../../tflite/src/testing/models.js';
import { readTflite } from '../../tflite/src/testing/read-tflite.js';
import { SILERO_VAD } from '../../../tests/support/model-cache.js';

const INT8 = 9;

function fixture() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-export-int8-'));
  const model = path.join(dir, 'cnn.onnx');
  fs.writeFileSync(model, encodeModel(mobileCnn()));
  const calibration = path.join(dir, 'calibration');
  fs.mkdirSync(calibration);
  const random = seededRandom(3);
  for (let i = 0; i < 12; i++) {
    const x = Tensor.from(
      'float32',
      [1, 3, 16, 16],
      Float32Array.from({ length: 768 }, () => random() * 2 - 1),
    );
    fs.writeFileSync(path.join(calibration, `x.s${i}.npy`), encodeNpy(x));
  }
  return { dir, model, calibration };
}

describe('edgeml export --quantize int8', () => {
  it('--calibration --io-type int8: int8 tensors and I/O, checked on calibration samples with SQNR and top-1', async () => {
    const { dir, model, calibration } = fixture();
    const out = path.join(dir, 'cnn.int8.tflite');
    const args = ['export', model, '-o', out, '--quantize', 'int8', '--calibration', calibration];
    const r = await runCli([...args, '--io-type', 'int8', '--json']);
    expect([r.code, r.err]).toEqual([0, '']);
    const rep = JSON.parse(r.out) as ExportCommandReport;
    expect(rep.calibration).toEqual({ source: 'folder', samples: 12 });
    expect(rep.inputs[0]).toMatchObject({ name: 'x', dtype: 'int8', shape: [1, 3, 16, 16] });
    expect(rep.inputs[0].quantization!.scale).toBeGreaterThan(0);
    expect(rep.outputs[0]).toMatchObject({ dtype: 'int8', quantization: { scale: 1 / 256, zeroPoint: -128 } });
    expect(rep.agreement[0].samples).toBe(8);
    expect(rep.agreement[0].sqnrDb).toBeGreaterThan(20);
    expect(rep.agreement[0].top1Agreement).toBeDefined();
    const file = readTflite(new Uint8Array(fs.readFileSync(out)));
    expect(file.tensors[file.inputs[0]].type).toBe(INT8);
    expect(file.tensors[file.outputs[0]].type).toBe(INT8);
    expect(file.tensors.filter((t) => t.type === INT8)).toHaveLength(rep.int8Tensors);
  });

  it('without --calibration: random inputs, said on stderr; --io-type without int8 is a usage error', async () => {
    const { dir, model } = fixture();
    const r = await runCli(['export', model, '-o', path.join(dir, 'a.tflite'), '--quantize', 'int8', '--json']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/without --calibration: the activation ranges come from 16 random inputs/);
    expect((JSON.parse(r.out) as ExportCommandReport).calibration).toEqual({ source: 'random', samples: 16 });
    const bad = await runCli(['export', model, '-o', path.join(dir, 'b.tflite'), '--io-type', 'uint8']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--io-type uint8 needs --quantize int8/);
    expect(fs.existsSync(path.join(dir, 'b.tflite'))).toBe(false);
  });

  it('--float-fallback: an op with no int8 kernel runs in float (listed, and in the text report) instead of exit 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-export-int8-'));
    const b = new ModelBuilder();
    const x = b.input('x', [1, 3, 8, 8]);
    const pooled = b.op('MaxPool', [b.op('Relu', [b.conv(x, 3, 4, 3)])], { kernel_shape: [2, 2], strides: [2, 2] });
    const model = path.join(dir, 'sqrt.onnx');
    fs.writeFileSync(model, encodeModel(b.model([b.conv(b.op('Sqrt', [pooled]), 4, 4, 1)])));
    const args = ['export', model, '-o', path.join(dir, 'sqrt.tflite'), '--quantize', 'int8'];
    const refused = await runCli(args);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^edgeml export: node .* \(Sqrt\) is written as SQRT.*--float-fallback/m);
    expect(fs.existsSync(path.join(dir, 'sqrt.tflite'))).toBe(false);
    const r = await runCli([...args, '--float-fallback', '--json']);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.out) as ExportCommandReport;
    expect(rep.floatOperators).toEqual({ SQRT: 1 });
    expect(rep.agreement[0].sqnrDb).toBeGreaterThan(20);
    const text = await runCli([...args, '-o', path.join(dir, 'b.tflite'), '--float-fallback']);
    expect(text.out).toMatch(/^in float {3}SQRT ×1 \(--float-fallback/m);
    const bad = await runCli(['export', model, '-o', path.join(dir, 'c.tflite'), '--float-fallback']);
    expect([bad.code, bad.err]).toEqual([
      2,
      expect.stringMatching(/--float-fallback is for --quantize int8/) as string,
    ]);
  });

  it('Silero VAD (its network in an If on sr) without --fix: exit 1 naming the If and --fix sr, before calibrating', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-export-int8-')), 'vad.tflite');
    const shapes = ['--shape', 'input=1x512', '--shape', 'state=2x1x128'];
    const r = await runCli(['export', SILERO_VAD('silero_vad_v5'), '-o', out, '--quantize', 'int8', ...shapes]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^edgeml export: node 'If_0' \(If\) runs subgraphs/);
    expect(r.err).toContain('`edgeml export --fix sr=<value>`');
    expect(r.err).not.toMatch(/random inputs/); // refused before the calibration samples were made
    expect(fs.existsSync(out)).toBe(false);
  });

  it('--quantize dynamic: int8 weights on the hybrid kernels, gated by SQNR instead of the float tolerance', async () => {
    const { dir, model } = fixture();
    const r = await runCli(['export', model, '-o', path.join(dir, 'd.tflite'), '--quantize', 'dynamic', '--json']);
    expect([r.code, r.err]).toEqual([0, '']);
    const rep = JSON.parse(r.out) as ExportCommandReport;
    expect(rep.minSqnrDb).toBe(10);
    expect(rep.tolerance).toBeNull();
    expect(rep.agreement[0].sqnrDb).toBeGreaterThan(20);
  });
});
