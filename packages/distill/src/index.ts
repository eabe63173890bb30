/**
 * @edgeml/distill: train ONNX models in JavaScript on tfjs-core — fast NCHW convolution and
 * pooling kernels with gradients (im2col + GEMM), the pieces the trainable executor,
 * distillation and fine-tuning are built from.
 *
 * ```ts
 * import { tf, tfReady, conv2dNchw } from '@edgeml/distill';
 * await tfReady();
 * const y = conv2dNchw(x, w, b, { group: 1, strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1] });
 * ```
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
export { imageTensor, isImageFolder, loadImageFolder, type ImagePreprocess } from './images.js';
