/**
 * @edgeml/distill: train ONNX models in JavaScript — knowledge distillation, fine-tuning (after
 * pruning, say) and training from scratch — on tfjs-core, with the weights (and BatchNorm
 * statistics) written back into ONNX. A {@link TrainableModel} runs the ONNX graph op by op
 * with its float weights as variables; convolutions and pools run on this package's NCHW
 * im2col + GEMM kernels with gradients, 20× faster than stock tfjs-core's CPU kernels for a CNN
 * training step. tfjs-core is bundled into the package's JavaScript, and {@link tf} is the instance
 * those kernels are registered on.
 *
 * ```ts
 * import { Tensor } from '@edgeml/core';
 * import { saveModel } from '@edgeml/core/node';
 * import { NodeBackend } from '@edgeml/runtime-node';
 * import { DistillationTrainer, TensorDataset, TrainableModel, buildCnn, evaluate } from '@edgeml/distill';
 *
 * // Labelled samples in the student's input layout (random here; loadMnist, loadNpyDataset and
 * // loadImageFolder read real ones).
 * const count = 512;
 * const images = Tensor.from('float32', [count, 1, 28, 28], Float32Array.from({ length: count * 784 }, Math.random));
 * const labels = Int32Array.from({ length: count }, (_, i) => i % 10);
 * const [train, validation] = new TensorDataset({ image: images }, labels).split(0.8);
 *
 * // The teacher: a session on any Backend (or a TrainableModel, or a tfjs function) taking the same inputs.
 * const teacher = await new NodeBackend().createSession('teacher.onnx');
 * const student = await TrainableModel.fromModel(
 *   buildCnn({ input: [1, 28, 28], convs: [{ channels: 8, pool: true }, { channels: 16, pool: true }], classes: 10 }),
 * );
 * const report = await new DistillationTrainer(student, teacher).fit(train, {
 *   epochs: 2,
 *   batchSize: 64,
 *   learningRate: 3e-3,
 *   temperature: 4,
 *   alpha: 0.7,
 *   validation,
 * });
 * console.log(report.epochs.at(-1), await evaluate(student, validation)); // loss; accuracy
 * await saveModel('student.onnx', student.toModel()); // runs on onnxruntime with the same outputs
 * ```
 *
 * Quantization-aware training trains the QDQ model static quantization writes: the executor runs
 * QuantizeLinear/DequantizeLinear as fake quantization with straight-through gradients
 * ({@link QatModel}, {@link trainQat}, and {@link quantizationAwareTraining} for
 * `quantize({ mode: 'qat' })` of @edgeml/quantize).
 *
 * Guide: [train: distillation and fine-tuning](../../../docs/guide.md#train-distillation-and-fine-tuning),
 * [quantization-aware training](../../../docs/guide.md#quantization-aware-training),
 * [MNIST end to end](../../../docs/guide.md#mnist-end-to-end); the kernels against tfjs-core's:
 * [benchmarks](../../../docs/benchmarks.md#cnn-training-step-edgemldistill-kernels-vs-stock-tfjs-core-benchdistill-convmjs).
 * @module
 */
export { tfReady } from './tf.js';
/**
 * The tfjs-core 4.22 namespace bundled into this package, with every gradient and the CPU
 * backend registered: the instance this package's kernels run on, so create the tensors you
 * pass to them (`conv2dNchw`, `matMul2d`, `TrainableModel.forward`) with it. Its API is
 * documented by TensorFlow.js: {@link https://js.tensorflow.org/api/4.22.0/ | tfjs-core API}.
 */
export { tf } from './tf.js';
export { conv2dNchw, convTranspose2dNchw, type Conv2dAttributes, type ConvTranspose2dAttributes } from './conv-op.js';
export { maxPool2dNchw, avgPool2dNchw, type Pool2dAttributes } from './pool-ops.js';
export { TrainableModel, unsupportedTrainingOps, type TrainableOptions } from './executor.js';
export { TF_OPS } from './tf-ops.js';
export type { OpContext, TfOp } from './op-context.js';
export { TensorDataset, fitLayout, loadMnist, loadNpyDataset, type Batch, type Dataset } from './data.js';
export { crossEntropy, distillationLoss } from './losses.js';
export {
  DistillationTrainer,
  evaluate,
  fineTune,
  type DistillOptions,
  type EpochReport,
  type LearningRateSchedule,
  type ProgressEvent,
  type Teacher,
  type TrainOptions,
  type TrainReport,
} from './trainer.js';
export { buildCnn, type CnnSpec } from './builders.js';
export { matMul2d } from './matmul-op.js';
export { loadImageFolder } from './images.js';
export {
  QatModel,
  trainQat,
  quantizationAwareTraining,
  type QatPrepareOptions,
  type QatTrainOptions,
  type QatSupervision,
  type QatTrainingSummary,
  type QuantizationAwareTrainingOptions,
} from './qat.js';
export type { TrainedFold } from './qat-batchnorm.js';
