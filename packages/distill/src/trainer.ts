import { InvalidArgumentError, Tensor, type Session } from '@edgeml/core';
import { tf } from './tf.js';
import type { Batch, Dataset } from './data.js';
import type { TrainableModel } from './executor.js';
import { crossEntropy, distillationLoss } from './losses.js';

/** Learning rate per epoch: constant, cosine decay to zero, steps, or your own function. */
export type LearningRateSchedule =
  'constant' | 'cosine' | { step: number; gamma: number } | ((epoch: number, base: number) => number);

/** One epoch's figures. */
export interface EpochReport {
  epoch: number;
  learningRate: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  validationLoss?: number;
  validationAccuracy?: number;
  seconds: number;
}

export interface TrainReport {
  epochs: EpochReport[];
  /** The epoch whose weights the model holds at the end (the best on validation when there is validation data). */
  bestEpoch: number;
  stoppedEarly: boolean;
}

/** Progress after each batch (for a progress bar) and each epoch. */
export type ProgressEvent =
  | { kind: 'batch'; epoch: number; batch: number; batches?: number; loss: number }
  | { kind: 'epoch'; report: EpochReport };

export interface TrainOptions {
  epochs: number;
  batchSize?: number;
  /** SGD (with `momentum`) or Adam (default adam). */
  optimizer?: 'sgd' | 'adam';
  learningRate?: number;
  momentum?: number;
  schedule?: LearningRateSchedule;
  /** Seed of the per-epoch shuffles (default 1). */
  seed?: number;
  /** Held-out data measured after each epoch (loss and top-1 accuracy). */
  validation?: Dataset;
  /** Stop when validation accuracy has not improved for this many epochs, and keep the best weights. */
  earlyStopping?: { patience: number; minDelta?: number };
  /** Called with the model after each epoch (save a checkpoint with `model.toModel()`). */
  onCheckpoint?: (epoch: number, model: TrainableModel) => void | Promise<void>;
  onProgress?: (event: ProgressEvent) => void;
  /** The student output holding class scores (default: its first output). */
  outputName?: string;
  /**
   * A term added to every batch's loss, computed from the model's variables inside the same
   * gradient tape (FedProx's proximal term μ/2·‖w − w_global‖², a weight decay of your own).
   */
  penalty?: () => tf.Scalar;
}

/** A teacher: a session on any Backend (e.g. onnxruntime-node), another trainable model, or a tfjs function. */
export type Teacher = Session | TrainableModel | ((inputs: Record<string, tf.Tensor>) => tf.Tensor);

export interface DistillOptions extends TrainOptions {
  /** Softmax temperature T (default 4). */
  temperature?: number;
  /** Weight of the soft (teacher) term; 1 − alpha goes to the labels (default 0.9). */
  alpha?: number;
  /** Keep each sample's teacher output after its first use (default true: the teacher is fixed). */
  cacheTeacher?: boolean;
  /** The teacher output holding class scores (default: its first output). */
  teacherOutput?: string;
  /**
   * Batches without labels take the teacher's top class as their labels (weighted 1 − alpha,
   * as labels are): hard and soft targets both from the teacher, so no labels are needed.
   * Default false (unlabelled batches learn from the soft term alone).
   */
  teacherLabels?: boolean;
}

function learningRateAt(
  schedule: LearningRateSchedule | undefined,
  epoch: number,
  epochs: number,
  base: number,
): number {
  if (!schedule || schedule === 'constant') return base;
  if (schedule === 'cosine') return 0.5 * base * (1 + Math.cos((Math.PI * epoch) / epochs));
  if (typeof schedule === 'function') return schedule(epoch, base);
  return base * schedule.gamma ** Math.floor(epoch / schedule.step);
}

function makeOptimizer(o: TrainOptions): { optimizer: tf.Optimizer; setRate: (lr: number) => void } {
  const lr = o.learningRate ?? (o.optimizer === 'sgd' ? 0.05 : 1e-3);
  const optimizer =
    o.optimizer === 'sgd' ? (o.momentum ? tf.train.momentum(lr, o.momentum) : tf.train.sgd(lr)) : tf.train.adam(lr);
  // tfjs optimizers read `learningRate` on every step; it is not exposed for writing.
  return {
    optimizer,
    setRate: (rate) => {
      (optimizer as unknown as { learningRate: number }).learningRate = rate;
    },
  };
}

const toTf = (inputs: Record<string, Tensor>) =>
  Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, tf.tensor(t.data as Float32Array, [...t.dims])]));

/** Top-1 accuracy and mean cross-entropy of `model` on `data`, in inference mode. */
export async function evaluate(
  model: TrainableModel,
  data: Dataset,
  options: { batchSize?: number; outputName?: string } = {},
): Promise<{ accuracy: number; loss: number }> {
  let correct = 0,
    seen = 0,
    lossSum = 0;
  const out = options.outputName ?? model.outputNames[0];
  for await (const batch of data.batches({ batchSize: options.batchSize ?? 256 })) {
    if (!batch.labels) throw new InvalidArgumentError('evaluation needs labelled data', 'data');
    const [hits, loss] = tf.tidy(() => {
      const logits = model.forward(toTf(batch.inputs))[out];
      const labels = tf.tensor1d(batch.labels!, 'int32');
      return [
        tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')).dataSync()[0],
        crossEntropy(logits, labels).dataSync()[0],
      ];
    });
    correct += hits;
    lossSum += loss * batch.labels.length;
    seen += batch.labels.length;
  }
  return { accuracy: seen ? correct / seen : 0, loss: seen ? lossSum / seen : 0 };
}

type BatchLoss = (studentLogits: tf.Tensor, batch: Batch, labels: tf.Tensor1D | undefined) => tf.Scalar;

/** The loop every training mode shares. */
async function train(
  model: TrainableModel,
  data: Dataset,
  options: TrainOptions,
  prepare: (batch: Batch) => Promise<{ loss: BatchLoss; release?: () => void }>,
): Promise<TrainReport> {
  if (!Number.isInteger(options.epochs) || options.epochs < 1)
    throw new InvalidArgumentError(`epochs must be a positive integer, got ${options.epochs}`, 'epochs');
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new InvalidArgumentError(`batchSize must be a positive integer, got ${batchSize}`, 'batchSize');
  const out = options.outputName ?? model.outputNames[0];
  if (!model.outputNames.includes(out))
    throw new InvalidArgumentError(
      `the model has no output '${out}' (outputs: ${model.outputNames.join(', ')})`,
      'outputName',
    );
  const { optimizer, setRate } = makeOptimizer(options);
  const base = options.learningRate ?? (options.optimizer === 'sgd' ? 0.05 : 1e-3);
  const report: TrainReport = { epochs: [], bestEpoch: -1, stoppedEarly: false };
  let best = -Infinity,
    bestWeights: Record<string, Tensor> | undefined,
    sinceBest = 0;
  const batches = data.size ? Math.ceil(data.size / batchSize) : undefined;
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const t0 = performance.now();
      const lr = learningRateAt(options.schedule, epoch, options.epochs, base);
      setRate(lr);
      let lossSum = 0,
        n = 0,
        b = 0;
      for await (const batch of data.batches({ batchSize, shuffle: true, seed: options.seed ?? 1, epoch })) {
        const prepared = await prepare(batch);
        let value: number;
        try {
          value = tf.tidy(() => {
            const labels = batch.labels ? tf.tensor1d(batch.labels, 'int32') : undefined;
            const cost = optimizer.minimize(
              () => {
                const loss = prepared.loss(model.forward(toTf(batch.inputs), { training: true })[out], batch, labels);
                return options.penalty ? tf.add<tf.Scalar>(loss, options.penalty()) : loss;
              },
              true,
              model.trainableVariables,
            );
            return cost!.dataSync()[0];
          });
        } finally {
          prepared.release?.();
        }
        if (!Number.isFinite(value))
          throw new InvalidArgumentError(
            `the loss became ${value} in epoch ${epoch + 1}, batch ${b + 1}: lower the learning rate`,
            'learningRate',
          );
        const count = Object.values(batch.inputs)[0].dims[0];
        lossSum += value * count;
        n += count;
        b++;
        options.onProgress?.({ kind: 'batch', epoch, batch: b, batches, loss: value });
      }
      const e: EpochReport = { epoch, learningRate: lr, loss: lossSum / Math.max(1, n), seconds: 0 };
      if (options.validation) {
        const v = await evaluate(model, options.validation, { batchSize: Math.max(batchSize, 256), outputName: out });
        e.validationAccuracy = v.accuracy;
        e.validationLoss = v.loss;
      }
      e.seconds = (performance.now() - t0) / 1000;
      report.epochs.push(e);
      options.onProgress?.({ kind: 'epoch', report: e });
      await options.onCheckpoint?.(epoch, model);
      const score = e.validationAccuracy ?? -e.loss;
      if (score > best + (options.earlyStopping?.minDelta ?? 0)) {
        best = score;
        report.bestEpoch = epoch;
        sinceBest = 0;
        if (options.validation && options.earlyStopping) bestWeights = model.getWeights();
      } else if (options.earlyStopping && ++sinceBest >= options.earlyStopping.patience) {
        report.stoppedEarly = true;
        break;
      }
    }
  } finally {
    optimizer.dispose();
  }
  if (bestWeights && report.bestEpoch !== report.epochs.length - 1) model.setWeights(bestWeights);
  if (!bestWeights) report.bestEpoch = report.epochs.length - 1;
  return report;
}

/**
 * Plain supervised training (fine-tuning after pruning or quantization, say): cross-entropy
 * against the labels, the same loop and options as distillation.
 *
 * @example
 * ```ts
 * const report = await fineTune(model, train, { epochs: 3, learningRate: 1e-3, validation: test });
 * ```
 */
export function fineTune(model: TrainableModel, data: Dataset, options: TrainOptions): Promise<TrainReport> {
  return train(model, data, options, async (batch) => {
    if (!batch.labels) throw new InvalidArgumentError('fine-tuning needs labelled batches', 'data');
    return { loss: (logits, _b, labels) => crossEntropy(logits, labels!) };
  });
}

/**
 * Knowledge distillation: the student learns from the teacher's softened class scores (and
 * the labels, weighted by 1 − alpha). The teacher runs once per sample when `cacheTeacher`
 * is on (the default).
 *
 * @example
 * ```ts
 * const teacher = await new NodeBackend().createSession('teacher.onnx');
 * const trainer = new DistillationTrainer(student, teacher);
 * const report = await trainer.fit(train, { epochs: 5, temperature: 4, alpha: 0.9, validation: test });
 * ```
 */
export class DistillationTrainer {
  private readonly cache = new Map<number, Float32Array>();

  constructor(
    readonly student: TrainableModel,
    readonly teacher: Teacher,
  ) {}

  private async teacherScores(batch: Batch, options: DistillOptions): Promise<tf.Tensor2D> {
    const n = Object.values(batch.inputs)[0].dims[0];
    const cached =
      options.cacheTeacher !== false && batch.indices ? Array.from(batch.indices, (i) => this.cache.get(i)) : [];
    if (cached.length === n && cached.every((c) => c)) {
      const width = cached[0]!.length;
      const all = new Float32Array(n * width);
      cached.forEach((c, i) => all.set(c!, i * width));
      return tf.tensor2d(all, [n, width]);
    }
    let scores: Float32Array, width: number;
    const t = this.teacher;
    if (typeof t === 'function' || 'forward' in t) {
      const out = tf.tidy(() => {
        const feeds = toTf(batch.inputs);
        const r = typeof t === 'function' ? t(feeds) : t.forward(feeds)[options.teacherOutput ?? t.outputNames[0]];
        return tf.keep(r);
      });
      scores = out.dataSync() as Float32Array;
      width = out.shape[1]!;
      out.dispose();
    } else {
      const feeds: Record<string, Tensor> = {};
      for (const info of t.inputs) {
        const given = batch.inputs[info.name] ?? Object.values(batch.inputs)[0];
        const shape = info.type?.kind === 'tensor' ? info.type.shape : undefined;
        // The teacher may declare another layout of the same pixels ([N,784] vs [N,1,28,28]).
        feeds[info.name] =
          shape && shape.length !== given.dims.length
            ? given.reshape([
                given.dims[0],
                ...shape.slice(1).map((d, i) => (typeof d === 'number' ? d : given.dims[i + 1])),
              ])
            : given;
      }
      const r = await t.run(feeds);
      const s = r[options.teacherOutput ?? t.outputs[0].name];
      scores = Float32Array.from(s.toFloat64());
      width = s.dims[1];
    }
    if (options.cacheTeacher !== false && batch.indices)
      batch.indices.forEach((idx, i) => this.cache.set(idx, scores.slice(i * width, (i + 1) * width)));
    return tf.tensor2d(scores, [n, width]);
  }

  /** Train the student; returns the per-epoch report (the student holds the best weights). */
  async fit(data: Dataset, options: DistillOptions): Promise<TrainReport> {
    const temperature = options.temperature ?? 4,
      alpha = options.alpha ?? 0.9;
    if (!(temperature > 0))
      throw new InvalidArgumentError(`temperature must be positive, got ${temperature}`, 'temperature');
    if (!(alpha >= 0 && alpha <= 1)) throw new InvalidArgumentError(`alpha must be in [0, 1], got ${alpha}`, 'alpha');
    return train(this.student, data, options, async (batch) => {
      const teacher = await this.teacherScores(batch, options);
      return {
        loss: (logits, _b, labels) => {
          const hard = labels ?? (options.teacherLabels ? tf.argMax<tf.Tensor1D>(teacher, 1) : undefined);
          return distillationLoss(logits, teacher, hard, temperature, alpha);
        },
        release: () => teacher.dispose(),
      };
    });
  }
}
