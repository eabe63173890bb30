/**
 * `edgeml quantize --mode qat`: the CLI composes the two packages — @edgeml/quantize places and
 * calibrates the Q/DQ pairs (its qat scheme), @edgeml/distill trains through them (the trainer
 * passed in) — and measures float, post-training quantization with the same types, and QAT on
 * held-out data.
 */
import { InvalidArgumentError, type Backend, type Model, type Tensor } from '@edgeml/core';
import { loadModel, saveModel } from '@edgeml/core/node';
import { TensorDataset, quantizationAwareTraining, type EpochReport, type QatSupervision } from '@edgeml/distill';
import { quantize, type QuantizeResult } from '@edgeml/quantize';
import { resolveCliBackend } from '../backends.js';
import type { CommandContext } from '../command.js';
import { UsageError } from '../cli-error.js';
import { dataFor, forModel } from '../model-data.js';
import { choiceOption, intOption, numberOption, reduceRangeOption, stringOption } from '../options.js';
import { progressBar, progressEnabled } from '../progress.js';
import { verifyOutputModel } from '../verify-output.js';

type Values = CommandContext['values'];

/** One model's figures on the held-out samples. */
export interface HeldOutFigures {
  /** Top-1 accuracy (0..1), when the held-out samples are labelled. */
  accuracy?: number;
  /** Output SQNR against the float model, dB (quantized models only). */
  sqnrDb?: number;
}

/** The JSON document `edgeml quantize --mode qat --json` prints. */
export interface QatReport {
  input: string;
  output: string;
  mode: 'qat';
  data: string;
  weightType: string;
  activationType: string;
  perChannel: boolean;
  supervision: QatSupervision;
  learnScales: boolean;
  /** Conv→BatchNormalization pairs trained with the normalization apart (batch, then frozen statistics). */
  batchNormsTrained: number;
  sizeBefore: number;
  sizeAfter: number;
  quantizedNodes: number;
  skippedNodes: { name: string; opType: string; reason: string }[];
  epochs: EpochReport[];
  /** Held-out samples the figures are measured on (never trained or calibrated on). */
  heldOutSamples: number;
  float: HeldOutFigures;
  /** Static post-training quantization with the same types and placement: the baseline. */
  ptq: HeldOutFigures;
  qat: HeldOutFigures;
}

/** Calibration samples: the first training samples, in batches (PTQ's and QAT's starting scales). */
function calibrationBatches(train: TensorDataset, samples = 256, batch = 32): Record<string, Tensor>[] {
  const n = Math.min(samples, train.size);
  return Array.from(
    { length: Math.ceil(n / batch) },
    (_, b) => train.take(Array.from({ length: Math.min(batch, n - b * batch) }, (_, i) => b * batch + i)).inputs,
  );
}

/** Top-1 accuracy of `model` on onnxruntime over the labelled samples. */
async function accuracyOn(backend: Backend, model: Model, data: TensorDataset): Promise<number | undefined> {
  if (!data.labels) return undefined;
  const session = await backend.createSession(model);
  let correct = 0;
  try {
    for await (const batch of data.batches({ batchSize: 500 })) {
      const out = await session.run(batch.inputs);
      const scores = out[session.outputs[0].name].toFloat64();
      const classes = scores.length / batch.labels!.length;
      batch.labels!.forEach((label, i) => {
        const row = scores.subarray(i * classes, (i + 1) * classes);
        if (row.indexOf(Math.max(...row)) === label) correct++;
      });
    }
  } finally {
    await session.dispose();
  }
  return correct / data.size;
}

/** Training and held-out samples in the model's layout: mnist's own split, or the folder's last fifth held out. */
async function qatData(spec: string, model: Model): Promise<{ train: TensorDataset; test: TensorDataset }> {
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name)).map((v) => v.name);
  const raw = await dataFor(spec, inputs, undefined, model);
  const [train, test] = raw.test ? [raw.train, raw.test] : raw.train.split(0.2);
  if (test.size === 0 || train.size === 0)
    throw new InvalidArgumentError(`--data '${spec}' has too few samples to hold a fifth out for evaluation`, 'data');
  return { train: forModel(train, model), test: forModel(test, model) };
}

function supervisionOf(values: Values, train: TensorDataset, spec: string): QatSupervision {
  if (!values.labels) return 'teacher';
  if (!train.labels)
    throw new InvalidArgumentError(
      `--labels needs labelled data; '${spec}' has no labels.npy (or class folders)`,
      'data',
    );
  return values.alpha === undefined ? 'labels' : 'both';
}

export async function runQat(
  values: Values,
  input: string,
  output: string,
  stderr: (text: string) => void,
): Promise<QatReport> {
  const spec = stringOption(values, 'data');
  if (!spec) throw new UsageError('--mode qat needs --data <folder|mnist>: the samples it trains on', 'quantize');
  if (stringOption(values, 'calibration'))
    throw new UsageError('--mode qat calibrates on its --data samples; drop --calibration', 'quantize');
  const model = await loadModel(input);
  const backend = await resolveCliBackend('node');
  const { train, test } = await qatData(spec, model);
  const supervision = supervisionOf(values, train, spec);
  const activationType = choiceOption(
    values,
    'activation-type',
    ['uint8', 'int8', 'uint4', 'int4'] as const,
    'quantize',
    'uint8',
  )!;
  // 4-bit activations take 4-bit weights unless told otherwise: onnxruntime cannot run a Conv
  // whose 4-bit input meets 8-bit weights.
  const weightType = choiceOption(
    values,
    'weight-type',
    ['int8', 'int4'] as const,
    'quantize',
    activationType.endsWith('int4') ? 'int4' : 'int8',
  )!;
  const epochs = intOption(values, 'epochs', 1, 2)!;
  const heldOut = calibrationBatches(test, test.size, 256);
  const common = {
    calibrationData: calibrationBatches(train),
    evaluationData: heldOut,
    backend,
    weightType,
    activationType,
    perChannel: !values['per-tensor'],
    reduceRange: reduceRangeOption(values),
    sqnrFloorDb: false as const,
  };
  const ptq = await quantize(model, { mode: 'static', ...common });
  const bar = progressBar(stderr, 'training', progressEnabled(values.json as boolean | undefined));
  const qat: QuantizeResult = await quantize(model, {
    mode: 'qat',
    ...common,
    train: quantizationAwareTraining({
      // Label-free training never sees the labels.
      data: supervision === 'teacher' ? new TensorDataset(train.inputs) : train,
      supervision,
      epochs,
      batchSize: intOption(values, 'batch', 1, 64),
      learningRate: numberOption(values, 'lr', (n) => n > 0, 'a positive number', 1e-3),
      alpha: numberOption(values, 'alpha', (n) => n >= 0 && n <= 1, 'between 0 and 1'),
      temperature: 1,
      learnScales: !!values['learn-scales'],
      trainBatchNorms: !values['no-bn-fold'],
      freezeBatchNormAfter: intOption(values, 'freeze-bn-after', 0),
      onProgress: (e) => {
        if (e.kind === 'batch')
          bar.update(e.batch, e.batches, `epoch ${e.epoch + 1}/${epochs}  loss ${e.loss.toFixed(4)}`);
      },
    }),
  });
  await verifyOutputModel(qat.model, model, backend, 'quantization-aware trained');
  const report: QatReport = {
    input,
    output,
    mode: 'qat',
    data: spec,
    weightType,
    activationType,
    perChannel: common.perChannel,
    supervision,
    learnScales: !!values['learn-scales'],
    batchNormsTrained: (qat.training?.batchNormsTrained as number | undefined) ?? 0,
    sizeBefore: qat.sizeBefore,
    sizeAfter: qat.sizeAfter,
    quantizedNodes: qat.quantizedNodes.length,
    skippedNodes: qat.skippedNodes.map((n) => ({ name: n.name, opType: n.opType, reason: n.reason ?? '' })),
    epochs: (qat.training?.epochs as EpochReport[] | undefined) ?? [],
    heldOutSamples: test.size,
    float: { accuracy: await accuracyOn(backend, model, test) },
    ptq: { accuracy: await accuracyOn(backend, ptq.model, test), sqnrDb: ptq.sqnrDb },
    qat: { accuracy: await accuracyOn(backend, qat.model, test), sqnrDb: qat.sqnrDb },
  };
  await saveModel(output, qat.model);
  return report;
}

/** The human-readable QAT report. */
export function formatQatReport(r: QatReport): string {
  const pct = (a?: number) => (a === undefined ? '—' : `${(100 * a).toFixed(2)} %`);
  const db = (d?: number) => (d === undefined ? '' : `, output SQNR ${d.toFixed(1)} dB`);
  return (
    [
      `quantized ${r.input} -> ${r.output} (qat: ${r.weightType} weights${r.perChannel ? ' per channel' : ''}, ${r.activationType} activations, ${r.supervision === 'teacher' ? 'label-free from the float model' : r.supervision === 'labels' ? 'with labels' : 'labels and the float model'}${r.learnScales ? ', learned scales' : ''})`,
      `size       ${r.sizeBefore} -> ${r.sizeAfter} bytes; ${r.quantizedNodes} nodes quantized, ${r.skippedNodes.length} left in float`,
      ...(r.batchNormsTrained
        ? [`batchnorm  ${r.batchNormsTrained} Conv+BatchNormalization pairs trained apart, folded on output`]
        : []),
      ...r.epochs.map((e) => `epoch ${e.epoch + 1}    loss ${e.loss.toFixed(4)} (${e.seconds.toFixed(1)} s)`),
      `held-out   ${r.heldOutSamples} samples: float ${pct(r.float.accuracy)}; ptq ${pct(r.ptq.accuracy)}${db(r.ptq.sqnrDb)}; qat ${pct(r.qat.accuracy)}${db(r.qat.sqnrDb)}`,
    ].join('\n') + '\n'
  );
}
