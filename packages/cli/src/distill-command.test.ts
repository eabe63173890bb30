/** `edgeml distill` end to end: a real teacher on onnxruntime, a student trained on tfjs-core, the result judged by onnxruntime. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { encodeModel } from '@edgeml/core';
import { buildCnn } from '@edgeml/distill';
import { runCli } from './testing/run-cli.js';
import { mnistNpyFolders } from './testing/npy-folder.js';
import type { DistillReport } from './commands/distill.js';

const TEACHER = path.join(__dirname, '..', '..', '..', 'tests', 'fixtures', 'mnist-cnn.onnx');

describe('edgeml distill', () => {
  it('trains a student from .npy folders and writes a model onnxruntime runs', async () => {
    const { dir } = await mnistNpyFolders('edgeml-distill-cli-', 1500, 200);
    const student = path.join(dir, 'student.onnx');
    fs.writeFileSync(
      student,
      encodeModel(
        buildCnn({
          input: [1, 28, 28],
          convs: [
            { channels: 6, pool: true },
            { channels: 12, pool: true },
          ],
          classes: 10,
          seed: 5,
        }),
      ),
    );
    const out = path.join(dir, 'trained.onnx');
    const r = await runCli([
      'distill',
      '--teacher',
      TEACHER,
      '--student',
      student,
      '--data',
      path.join(dir, 'train'),
      '--validation',
      path.join(dir, 'val'),
      '-o',
      out,
      '--epochs',
      '2',
      '--batch',
      '50',
      '--lr',
      '0.003',
      '--json',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as DistillReport;
    expect(report.epochs).toHaveLength(2);
    expect(report.studentAccuracy!).toBeGreaterThan(report.studentAccuracyBefore! + 0.3);
    expect(report.teacherAccuracy!).toBeGreaterThan(0.9);
    const session = await ort.InferenceSession.create(out);
    const result = await session.run({ image: new ort.Tensor('float32', new Float32Array(784 * 2), [2, 1, 28, 28]) });
    expect(result.logits.dims).toEqual([2, 10]);
  });

  it('refuses bad settings with a one-line reason', async () => {
    expect((await runCli(['distill', '--student', TEACHER, '--data', 'mnist', '-o', 'x.onnx'])).code).toBe(2);
    const cases: [string[], RegExp][] = [
      [['--alpha', '2'], /--alpha must be between 0 and 1, got '2'/],
      [['--epochs', '0'], /--epochs must be a positive integer/],
      [['--data', '/no/such/dir'], /--data takes 'mnist', a folder of .npy files/],
    ];
    for (const [extra, message] of cases) {
      const r = await runCli([
        'distill',
        '--teacher',
        TEACHER,
        '--student',
        TEACHER,
        '--data',
        'mnist',
        '-o',
        path.join(os.tmpdir(), 'never.onnx'),
        ...extra,
      ]);
      expect(r.code, extra.join(' ')).toBe(1);
      expect(r.err).toMatch(message);
    }
  });
});
