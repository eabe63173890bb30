/**
 * Quantization-aware training of a QDQ model.
 *
 * One placement: QAT trains the QDQ model that static post-training quantization writes
 * (`quantizeStatic` / `quantize({ mode: 'static' })` of @edgeml/quantize, or any QDQ model), so
 * fake quantization sits exactly where PTQ puts its QuantizeLinear/DequantizeLinear pairs and
 * starts from PTQ's calibrated scales and zero points. The placement is decided in one place
 * (@edgeml/quantize) and this package never imports it: the arrows still point one way
 * (distill → core, quantize → core), and the CLI — or your code — composes the two.
 *
 * Preparing rewrites a copy: every weight held as integers behind a DequantizeLinear becomes a
 * float weight (the float model's own, when given) behind a QuantizeLinear with the same scale
 * and zero point (per channel when the weight's are), so the weight trains through fake
 * quantization; int32 biases become float biases (re-quantized at input scale × weight scale
 * when converting, as onnxruntime expects). Activation pairs stay as they are: the executor runs
 * QuantizeLinear/DequantizeLinear as fake quantization with straight-through gradients.
 * Converting writes the learned weights, biases and scales back into the QDQ model: the same
 * graph, new numbers.
 *
 * BatchNorm: static quantization folds every BatchNormalization into its convolution before
 * placing Q/DQ, so the QDQ model has none left. Given what each fold removed (`batchNorms`, which
 * the qat mode of @edgeml/quantize hands its trainer), each folded Conv trains as the Conv and
 * BatchNormalization pair it was, with the folded weight fake-quantized, batch statistics for
 * the first steps and frozen running statistics after (torch.ao's ConvBn QAT modules; see
 * qat-batchnorm.ts); converting writes the folded Conv. Without them the folded weight trains.
 */
import {
  GraphBuilder,
  InvalidArgumentError,
  Tensor,
  eliminateDeadCode,
  isDefaultDomain,
  quantTensor,
  roundHalfEven,
  type FoldedBatchNorm,
  type Model,
  type Node,
  type QuantType,
  type Value,
} from '@edgeml/core';
import { TrainableModel } from './executor.js';
import { foldedParameters, trainFoldApart, type TrainedFold } from './qat-batchnorm.js';
import type { Dataset } from './data.js';
import { DistillationTrainer, fineTune, type DistillOptions, type Teacher, type TrainReport } from './trainer.js';

/** A weight trained through fake quantization: the float latent and where its integers go. */
interface FakeQuantWeight {
  latent: string;
  quantized: string;
  scale: string;
  zeroPoint?: string;
  axis?: number;
  type: QuantType;
}

/** A float bias converted back to int32 at input scale × weight scale. */
interface RequantizedBias {
  latent: string;
  quantized: string;
  scale: string;
  inputScale: string;
  weightScale: string;
}

export interface QatPrepareOptions {
  /**
   * The float model the QDQ model was quantized from (matched by node name): its weights and
   * biases start the training, so the rounding PTQ did is not baked in. Without it training
   * starts from the dequantized integers.
   */
  float?: Model;
  /** Learn the scales too (LSQ); zero points stay as calibrated. Default false: scales stay calibrated. */
  learnScales?: boolean;
  /**
   * What each BatchNormalization fold removed (`QatModels.batchNorms` of @edgeml/quantize's qat
   * mode, or `foldBatchNorms(graph, folds)` of core): those Convs train with the normalization
   * apart — batch statistics, then frozen ones — and convert folded. Empty: the folded weights train.
   */
  batchNorms?: readonly FoldedBatchNorm[];
}

const QUANT_TYPES: readonly string[] = ['int8', 'uint8', 'int16', 'uint16', 'int4', 'uint4'];

/** Per-axis layout of a Q/DQ: the channel of flat element i. */
function channelOf(dims: readonly number[], axis: number | undefined, channels: number): (i: number) => number {
  if (channels === 1 || axis === undefined) return () => 0;
  const a = axis < 0 ? axis + dims.length : axis;
  const inner = dims.slice(a + 1).reduce((p, d) => p * d, 1);
  return (i) => Math.floor(i / inner) % channels;
}

const valuesOf = (v: Value | undefined) => (v?.const ? v.const.toFloat64() : undefined);

/** The axis a DequantizeLinear quantizes along, when its scale has one value per channel. */
const axisOf = (dq: Node) => ((dq.inputs[1]?.const?.size ?? 1) > 1 ? dq.attr('axis', 'int', 1) : undefined);

/** (q − z) · s, per axis when the scale is. */
function dequantized(dq: Node): Tensor<'float32'> {
  const q = dq.inputs[0]!.const!;
  const scale = valuesOf(dq.inputs[1])!;
  const zero = valuesOf(dq.inputs[2]);
  const ch = channelOf(q.dims, axisOf(dq), scale.length);
  const ints = q.toFloat64();
  const out = Float32Array.from(ints, (x, i) => (x - (zero?.[ch(i)] ?? 0)) * scale[ch(i)]);
  return Tensor.from('float32', [...q.dims], out);
}

/** The float tensor the float model's node of the same name reads at `index`, when it has the same shape. */
function floatInput(float: Model | undefined, node: Node, index: number, like: Tensor): Tensor | undefined {
  const twin = float?.graph.nodes.find((n) => n.name === node.name && n.opType === node.opType);
  const t = twin?.inputs[index]?.const;
  return t && t.dtype === 'float32' && t.dims.join() === like.dims.join()
    ? Tensor.from('float32', [...t.dims], (t.data as Float32Array).slice())
    : undefined;
}

/** The scale initializer of the DequantizeLinear producing `v`, if one does. */
function dequantizeScale(v: Value | undefined): Value | undefined {
  const dq = v?.producer();
  return dq?.opType === 'DequantizeLinear' && isDefaultDomain(dq) && dq.inputs[1]?.const ? dq.inputs[1] : undefined;
}

/** A name for the float latent of `quantized` ('conv.weight_quantized' → 'conv.weight'), unused in the graph. */
function latentName(model: Model, quantized: string): string {
  const base = quantized.replace(/_quantized$/, '');
  return model.graph.findValue(base) ? `${base}_latent` : base;
}

/**
 * A QDQ model prepared for training: run it, train it with the trainer of this package, and
 * convert it back with {@link QatModel.toQdq}.
 *
 * @example
 * ```ts
 * const ptq = await quantize(float, { mode: 'static', calibrationData, backend, weightType: 'int4', activationType: 'uint4' });
 * const qat = await QatModel.fromQdq(ptq.model, { float });
 * await trainQat(qat, unlabelled, { epochs: 2, teacher: await TrainableModel.fromModel(float) });
 * await saveModel('model.qat.onnx', qat.toQdq()); // the same Q/DQ placement, learned numbers
 * ```
 */
export class QatModel {
  private constructor(
    /** The QDQ model as given (never modified). */
    readonly qdq: Model,
    /** The fake-quantized model the trainer trains. */
    readonly trainable: TrainableModel,
    private readonly weights: FakeQuantWeight[],
    private readonly biases: RequantizedBias[],
    /** Activation and weight scales, by name; with tied scales, the name whose value each takes. */
    private readonly scales: Map<string, string>,
    /** Conv→BatchNormalization pairs trained apart (empty when none). */
    readonly batchNorms: readonly TrainedFold[] = [],
  ) {}

  /** Prepare a QDQ model for training (a copy; the input is never modified). */
  static async fromQdq(qdq: Model, options: QatPrepareOptions = {}): Promise<QatModel> {
    const work = qdq.clone();
    const graph = work.graph;
    const weights: FakeQuantWeight[] = [];
    const biases: RequantizedBias[] = [];
    const scales = new Map<string, string>();
    for (const n of graph)
      if ((n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') && n.inputs[1]?.const)
        scales.set(n.inputs[1].name, n.inputs[1].name);
    for (const dq of [...graph]) {
      const ints = dq.inputs[0]?.const;
      if (dq.opType !== 'DequantizeLinear' || !isDefaultDomain(dq) || !ints || !dq.inputs[1]?.const) continue;
      const readers = dq.outputs[0].uses();
      if (ints.dtype === 'int32') {
        const bias = asFloatBias(work, dq, options.float);
        if (bias) {
          biases.push(bias);
          scales.delete(bias.scale);
        }
      } else if (QUANT_TYPES.includes(ints.dtype) && readers.length)
        weights.push(asFakeQuantWeight(work, dq, options.float));
    }
    const latentNames = new Set(weights.map((w) => w.latent));
    const folds = (options.batchNorms ?? []).flatMap((f) => trainFoldApart(graph, f, latentNames) ?? []);
    eliminateDeadCode(graph);
    if (!weights.length)
      throw new InvalidArgumentError(
        'the model has no integer weights behind a DequantizeLinear: give quantization-aware training the QDQ model static quantization writes',
        'model',
      );
    if (options.learnScales) tieSharedScales(work, scales);
    const latents = new Set([
      ...[...weights, ...biases].map((p) => p.latent),
      ...folds.flatMap((f) => [f.weight, f.bias, f.scale, f.shift]),
    ]);
    const learned = new Set(options.learnScales ? scales.values() : []);
    const trainable = await TrainableModel.fromModel(work, {
      foldConstants: false,
      trainable: (name) => latents.has(name) || learned.has(name),
    });
    return new QatModel(qdq, trainable, weights, biases, scales, folds);
  }

  /** The QDQ model with the learned weights, biases and scales (a copy of the one prepared from). */
  toQdq(): Model {
    const out = this.qdq.clone();
    this.writeInto(out);
    return out;
  }

  /** Write the learned parameters into `model` — the QDQ model prepared from, or a copy of it — in place. */
  writeInto(model: Model): void {
    const trained = this.trainable.getWeights();
    const folded = foldedParameters(this.batchNorms, trained);
    const learned = { ...trained, ...folded };
    const init = (name: string) => {
      const v = model.graph.initializers.get(name);
      if (!v?.const)
        throw new InvalidArgumentError(
          `the model has no initializer '${name}': write into the QDQ model this was prepared from`,
          name,
        );
      return v;
    };
    for (const [name, source] of this.scales) {
      const s = learned[source] ?? init(source).const!;
      // A scale must stay positive; LSQ steps could in principle push one through zero.
      const values = Float32Array.from(s.toFloat64(), (x) => Math.max(Math.abs(x), 1e-12));
      init(name).const = Tensor.from('float32', [...init(name).const!.dims], values);
    }
    for (const w of this.weights) {
      const q = init(w.quantized);
      const ints = quantizeValues(
        learned[w.latent],
        init(w.scale).const!,
        w.zeroPoint ? init(w.zeroPoint).const : undefined,
        w.axis,
        w.type,
      );
      q.const = quantTensor(w.type, [...q.const!.dims], ints);
    }
    // A folded bias left in float (its Conv's input not quantized) is written as it is.
    const requantized = new Set(this.biases.map((b) => b.latent));
    for (const f of this.batchNorms)
      if (f.foldedBias && !requantized.has(f.foldedBias)) init(f.foldedBias).const = folded[f.foldedBias];
    for (const b of this.biases) {
      const sx = init(b.inputScale).const!.toFloat64()[0];
      const sw = init(b.weightScale).const!.toFloat64();
      const old = init(b.scale).const!;
      const scale = Float32Array.from({ length: old.size }, (_, c) => Math.fround(sx * sw[sw.length > 1 ? c : 0]));
      init(b.scale).const = Tensor.from('float32', [...old.dims], scale);
      const bias = Tensor.from('float32', [scale.length], learned[b.latent].data);
      init(b.quantized).const = Tensor.from(
        'int32',
        [scale.length],
        quantizeValues(bias, init(b.scale).const!, undefined, 0, 'int32'),
      );
    }
  }

  /** Free the tfjs tensors. */
  dispose(): void {
    this.trainable.dispose();
  }
}

/** Integers of `values` at `scale` and `zero` (per `axis`), rounded half to even and saturated to `type`. */
function quantizeValues(
  values: Tensor,
  scale: Tensor,
  zero: Tensor | undefined,
  axis: number | undefined,
  type: QuantType | 'int32',
): Int32Array {
  const s = scale.toFloat64();
  const z = zero?.toFloat64();
  const [qmin, qmax] = type === 'int32' ? [-2147483648, 2147483647] : INT_RANGES[type];
  const ch = channelOf(values.dims, axis, s.length);
  const x = values.toFloat64();
  return Int32Array.from(x, (v, i) => {
    const q = roundHalfEven(Math.fround(v / s[ch(i)])) + (z?.[ch(i)] ?? 0);
    return q < qmin ? qmin : q > qmax ? qmax : q;
  });
}

const INT_RANGES: Record<QuantType, [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int4: [-8, 7],
  uint4: [0, 15],
};

/** The weight's integers give way to a float latent behind a QuantizeLinear with the same parameters. */
function asFakeQuantWeight(model: Model, dq: Node, float: Model | undefined): FakeQuantWeight {
  const graph = model.graph;
  const ints = dq.inputs[0]!;
  const reader = dq.outputs[0].uses()[0];
  const start = floatInput(float, reader.node, reader.index, ints.const!) ?? dequantized(dq);
  const rw = new GraphBuilder(graph, dq.name || 'DequantizeLinear');
  const latent = rw.constant(latentName(model, ints.name), start);
  const axis = axisOf(dq);
  const [fake] = rw.op('QuantizeLinear', [latent, dq.inputs[1], dq.inputs[2]], axis === undefined ? {} : { axis }, [
    `${latent.name}_fake_quantized`,
  ]);
  fake.type = { kind: 'tensor', dtype: ints.const!.dtype, shape: [...ints.const!.dims] };
  rw.insertBefore(dq);
  dq.setInput(0, fake);
  return {
    latent: latent.name,
    quantized: ints.name,
    scale: dq.inputs[1]!.name,
    zeroPoint: dq.inputs[2]?.const ? dq.inputs[2].name : undefined,
    axis,
    type: ints.const!.dtype as QuantType,
  };
}

/**
 * An int32 bias of a Conv/Gemm whose input and weight are dequantized becomes a float latent
 * fake-quantized to int32 at input scale × weight scale (computed in the graph, so learned
 * scales move it): training sees the bias the converted model holds, whose rounding, small as
 * it is, would otherwise flip activations' roundings that deep networks carry to the output.
 * Other int32 constants stay as they are.
 */
function asFloatBias(model: Model, dq: Node, float: Model | undefined): RequantizedBias | undefined {
  const uses = dq.outputs[0].uses();
  const reader = uses[0]?.node;
  if (uses.length !== 1 || uses[0].index !== 2 || !['Conv', 'Gemm', 'ConvTranspose'].includes(reader.opType))
    return undefined;
  const inputScale = dequantizeScale(reader.inputs[0]);
  const weightScale = dequantizeScale(reader.inputs[1]);
  if (!inputScale || !weightScale || inputScale.const!.size !== 1 || model.graph.outputs.includes(dq.outputs[0]))
    return undefined;
  const ints = dq.inputs[0]!;
  const start = floatInput(float, reader, 2, ints.const!) ?? dequantized(dq);
  const rw = new GraphBuilder(model.graph, dq.name || 'DequantizeLinear');
  const latent = rw.constant(latentName(model, ints.name), start);
  const perChannel = weightScale.const!.size > 1;
  const zero = rw.constant(
    `${latent.name}_zero_point`,
    Tensor.from('int32', perChannel ? [weightScale.const!.size] : [], new Int32Array(weightScale.const!.size)),
  );
  const [scale] = rw.op('Mul', [inputScale, weightScale]);
  const [fake] = rw.op('QuantizeLinear', [latent, scale, zero], { axis: 0 }, [`${latent.name}_fake_quantized`]);
  rw.insertBefore(dq);
  const biasScale = dq.inputs[1]!.name;
  dq.setInput(0, fake);
  dq.setInput(1, scale);
  dq.setInput(2, zero);
  dq.setAttr('axis', 'int', 0);
  return {
    latent: latent.name,
    quantized: ints.name,
    scale: biasScale,
    inputScale: inputScale.name,
    weightScale: weightScale.name,
  };
}

/**
 * Scales static quantization made equal on purpose — the output of a data-movement op
 * (MaxPool, Reshape, Flatten...) takes its input's, so onnxruntime runs the op on the integers —
 * stay equal while they learn: the output's QuantizeLinear and its DequantizeLinears read the
 * input's scale, and converting writes the one learned value into both initializers.
 */
function tieSharedScales(model: Model, scales: Map<string, string>): void {
  for (const q of model.graph.nodes) {
    if (q.opType !== 'QuantizeLinear' || !q.inputs[1]?.const) continue;
    const producer = q.inputs[0]?.producer();
    const source = producer && dequantizeScale(producer.inputs[0]);
    const own = q.inputs[1];
    if (!source || source === own || !scales.has(own.name) || !sameTensor(source.const!, own.const!)) continue;
    const zIn = producer.inputs[0]!.producer()!.inputs[2]?.const;
    if (zIn && q.inputs[2]?.const && !sameTensor(zIn, q.inputs[2].const)) continue;
    for (const reader of [q, ...q.outputs[0].uses().map((u) => u.node)])
      if (reader.inputs[1] === own) reader.setInput(1, source);
    // A bias's scale product (input scale × weight scale, see asFloatBias) follows too.
    for (const use of own.uses()) if (use.node.opType === 'Mul') use.node.setInput(use.index, source);
    scales.set(own.name, scales.get(source.name) ?? source.name);
  }
}

const sameTensor = (a: Tensor, b: Tensor) => a.dtype === b.dtype && a.toFloat64().join() === b.toFloat64().join();

/** How {@link trainQat} trains: the trainer's options, and a teacher for label-free (or mixed) training. */
export interface QatTrainOptions extends DistillOptions {
  /**
   * The float model as teacher (a TrainableModel, a session on any Backend, or a tfjs
   * function): the quantized copy learns to match its class scores on the data, which then
   * needs no labels. With labelled data too, `alpha` weighs the two (default 1 without labels).
   * Without a teacher the data must be labelled (cross-entropy).
   */
  teacher?: Teacher;
  /**
   * Steps (batches) after which BatchNormalization statistics freeze, for Convs trained with
   * their normalization apart (`batchNorms`): before, the batch's statistics normalise and the
   * running ones follow them; after, the running ones normalise, so training computes what the
   * converted model does. Default: half the training's steps (PyTorch's QAT tutorial updates
   * them for 4 of its 8 epochs); 0 freezes them from the start.
   */
  freezeBatchNormAfter?: number;
}

/** Options with an onProgress that freezes BatchNorm statistics after the step the options say. */
function freezingBatchNorms(model: QatModel, data: Dataset, options: QatTrainOptions): DistillOptions {
  const { teacher: _teacher, freezeBatchNormAfter, ...train } = options;
  if (freezeBatchNormAfter !== undefined && !(Number.isInteger(freezeBatchNormAfter) && freezeBatchNormAfter >= 0))
    throw new InvalidArgumentError(
      `freezeBatchNormAfter must be a whole number of steps (0 or more), got ${freezeBatchNormAfter}`,
      'freezeBatchNormAfter',
    );
  if (!model.batchNorms.length) return train;
  const steps = data.size ? options.epochs * Math.ceil(data.size / (options.batchSize ?? 64)) : undefined;
  const after = freezeBatchNormAfter ?? (steps ? Math.ceil(steps / 2) : undefined);
  const trainable = model.trainable;
  trainable.freezeBatchNormStatistics(after === 0);
  let step = 0;
  return {
    ...train,
    onProgress: (e) => {
      if (e.kind === 'batch' && ++step === after) trainable.freezeBatchNormStatistics();
      // A dataset of unknown size: frozen from the second half's first epoch.
      if (e.kind === 'epoch' && after === undefined && e.report.epoch + 1 >= Math.ceil(options.epochs / 2))
        trainable.freezeBatchNormStatistics();
      train.onProgress?.(e);
    },
  };
}

/**
 * Train a prepared QDQ model with the package's trainer (optimizers, schedules, validation,
 * early stopping, checkpoints): label-free from a teacher, with labels, or both. Convs trained
 * with their BatchNormalization apart freeze its statistics after `freezeBatchNormAfter` steps.
 *
 * @example
 * ```ts
 * const report = await trainQat(qat, calibrationSamples, { epochs: 2, learningRate: 1e-4, teacher });
 * ```
 */
export async function trainQat(model: QatModel, data: Dataset, options: QatTrainOptions): Promise<TrainReport> {
  const train = freezingBatchNorms(model, data, options);
  try {
    if (!options.teacher) return await fineTune(model.trainable, data, train);
    return await new DistillationTrainer(model.trainable, options.teacher).fit(data, train);
  } finally {
    // Whatever the schedule, the model ends as it converts: running statistics.
    model.trainable.freezeBatchNormStatistics();
  }
}

/** What QAT learns from: the float model's scores (label-free), the labels, or both. */
export type QatSupervision = 'teacher' | 'labels' | 'both';

/** Options of {@link quantizationAwareTraining}. */
export interface QuantizationAwareTrainingOptions extends DistillOptions {
  /** Training samples in the model's input layout (labelled for `labels` and `both`). */
  data: Dataset;
  /** Default 'teacher': the float model teaches its quantized copy, and no labels are needed. */
  supervision?: QatSupervision;
  /** Learn the scales too (LSQ); default false. */
  learnScales?: boolean;
  /** The teacher, when not the float model itself (run on the trainable executor). */
  teacher?: Teacher;
  /**
   * Train each folded Conv→BatchNormalization pair with the normalization apart (batch
   * statistics, frozen after `freezeBatchNormAfter` steps), as torch.ao does; default true.
   * False trains the folded weights (the statistics stay the float model's).
   */
  trainBatchNorms?: boolean;
  /** See {@link QatTrainOptions.freezeBatchNormAfter}. */
  freezeBatchNormAfter?: number;
}

/** What {@link quantizationAwareTraining} reports. */
export interface QatTrainingSummary extends TrainReport {
  [key: string]: unknown;
  supervision: QatSupervision;
  learnScales: boolean;
  /** Conv→BatchNormalization pairs trained with the normalization apart. */
  batchNormsTrained: number;
}

/**
 * A trainer for `quantize(model, { mode: 'qat', train })` of @edgeml/quantize: it prepares the
 * QDQ model static quantization placed, trains it and writes the learned numbers back in place.
 *
 * @example
 * ```ts
 * const result = await quantize(model, {
 *   mode: 'qat', calibrationData, backend, weightType: 'int4', activationType: 'uint4',
 *   train: quantizationAwareTraining({ data: unlabelled, epochs: 2, learningRate: 1e-4 }),
 * });
 * ```
 */
export function quantizationAwareTraining(
  options: QuantizationAwareTrainingOptions,
): (models: { quantized: Model; float: Model; batchNorms?: FoldedBatchNorm[] }) => Promise<QatTrainingSummary> {
  const {
    data,
    supervision = 'teacher',
    learnScales = false,
    teacher: given,
    trainBatchNorms = true,
    ...train
  } = options;
  if (!['teacher', 'labels', 'both'].includes(supervision))
    throw new InvalidArgumentError(
      `supervision must be teacher, labels or both; got '${supervision as string}'`,
      'supervision',
    );
  return async ({ quantized, float, batchNorms }) => {
    const qat = await QatModel.fromQdq(quantized, {
      float,
      learnScales,
      batchNorms: trainBatchNorms ? batchNorms : undefined,
    });
    const teacher = supervision === 'labels' ? undefined : (given ?? (await TrainableModel.fromModel(float)));
    try {
      const report = await trainQat(qat, data, {
        ...train,
        teacher,
        // Label-free: the teacher gives soft targets and, through its top class, hard ones
        // (ignoring labels the data may carry); 'both' weighs real labels with the teacher.
        alpha: train.alpha ?? 0.5,
        teacherLabels: supervision === 'teacher',
        // Fine-tuning from a good start: the rate decays so the last steps settle the rounding.
        schedule: train.schedule ?? 'cosine',
      });
      qat.writeInto(quantized);
      return { ...report, supervision, learnScales, batchNormsTrained: qat.batchNorms.length };
    } finally {
      qat.dispose();
      if (teacher && !given && teacher instanceof TrainableModel) teacher.dispose();
    }
  };
}
