/**
 * @edgeml/quantize: post-training quantization as passes over the @edgeml/core IR — dynamic
 * int8, calibrated static int8 (QDQ, or QOperator form), int4 weight-only (MatMulNBits or
 * blocked QDQ, round-to-nearest or HQQ) and fp16 — with a report of what changed: sizes, every
 * node quantized or left in float (and why), and the output error against the float model.
 * Static mode's accuracy refinements — cross-layer equalization, bias correction, SmoothQuant
 * (`equalize`, `biasCorrection`, `smoothQuant`) — are passes of their own as well. Mode `qat`
 * (quantization-aware training) places and calibrates Q/DQ as static does, then runs the trainer
 * you pass in (`quantizationAwareTraining` of @edgeml/distill); this package never imports it.
 * The input model is never modified. Anything that must run a model (calibration, evaluation,
 * a target check) runs on the {@link @edgeml/core!index.Backend | Backend} you pass in.
 *
 * ```ts
 * import { Tensor } from '@edgeml/core';
 * import { loadModel, saveModel } from '@edgeml/core/node';
 * import { quantize } from '@edgeml/quantize';
 * import { NodeBackend } from '@edgeml/runtime-node';
 *
 * const model = await loadModel('model.onnx'); // here: one float input, `image`, of [1, 1, 28, 28]
 * const backend = new NodeBackend();
 *
 * // Dynamic int8: weights now, activations at run time; no data needed.
 * const dynamic = await quantize(model, { mode: 'dynamic', perChannel: true });
 * console.log(dynamic.sizeBefore / dynamic.sizeAfter, dynamic.skippedNodes); // every node left in float says why
 *
 * // Static int8 in QDQ form, calibrated on samples of the model's inputs (any iterable or async
 * // iterable of feeds; use real data), with the output error measured on held-out samples.
 * const sample = () => ({
 *   image: Tensor.from('float32', [1, 1, 28, 28], Float32Array.from({ length: 784 }, Math.random)),
 * });
 * const calibrationData = Array.from({ length: 16 }, sample);
 * const evaluationData = Array.from({ length: 4 }, sample);
 * const result = await quantize(model, { mode: 'static', calibrationData, evaluationData, backend, perChannel: true });
 * console.log(result.sqnrDb, result.outputErrors); // dB of signal over quantization noise, per output
 * await saveModel('model.int8.onnx', result.model);
 * ```
 *
 * Guide: [quantize](../../../docs/guide.md#quantize) (modes, calibration methods, accuracy
 * budgets, per-tensor types, target checks,
 * [equalization, bias correction, SmoothQuant](../../../docs/guide.md#equalization-bias-correction-smoothquant)); speed-ups measured:
 * [benchmarks](../../../docs/benchmarks.md#quantization-benchquantizemjs).
 * @module
 */
export { quantizeDynamic, type DynamicQuantizeOptions, type DynamicQuantizeResult } from './dynamic.js';
export {
  quantizeWeight,
  computeScaleZeroPoint,
  quantRange,
  roundHalfEven,
  packNibbles,
  type QuantType,
  type QuantRange,
  type ScaleZeroPoint,
  type QuantizedWeight,
} from './quant-params.js';
export { TFLITE_STATIC_OPS } from './tflite-ops.js';
export { isExcluded, type Exclusion, type NodeOutcome } from './select.js';
export {
  quantizeStatic,
  STATIC_OPS,
  type StaticQuantizeOptions,
  type StaticQuantizeResult,
  type ActivationType,
  type WeightType,
} from './static-qdq.js';
export {
  calibrate,
  checkSample,
  type CalibrationData,
  type CalibrationSample,
  type CalibrationMethod,
  type CalibrationOptions,
  type TensorRange,
} from './calibrate.js';
export {
  convertToFloat16,
  float16Ranges,
  DEFAULT_FP16_BLOCK_LIST,
  type Float16Options,
  type Float16Result,
} from './float16.js';
export { quantizeInt4, quantizeBlocks, type Int4Options, type Int4Result } from './int4.js';
export { compareOutputs } from './evaluate.js';
export { quantizationSchemes, quantizationPass, type QuantizationScheme, type QuantizationRecord } from './schemes.js';
export { validateDynamicOptions } from './dynamic.js';
export { validateStaticOptions } from './static-qdq.js';
export { validateInt4Options } from './int4.js';
export {
  quantize,
  type QuantizeOptions,
  type QuantizeResult,
  type QuantizeMode,
  type StaticModeOptions,
  type OutputError,
  type QuantizeCommonOptions,
  type AccuracyBudget,
} from './quantize.js';
export {
  measureSensitivity,
  layerBlocks,
  estimatedLossDb,
  type LayerBlock,
  type LayerSensitivity,
  type SensitivityOptions,
} from './sensitivity.js';
export { VariantContext, type LayerPrecision, type VariantSpec } from './layer-variant.js';
export {
  meetBudget,
  DEFAULT_SQNR_FLOOR_DB,
  type MixedPrecisionLayer,
  type MixedPrecisionRunSearch,
  type QuantizeWarning,
} from './mixed-precision.js';
export {
  elementwiseActivations,
  searchActivationRuns,
  type ActivationRunSearch,
  type RunSearchGoal,
} from './activation-runs.js';
export { quantizeHybrid, hybridScheme, type HybridQuantizeOptions } from './hybrid.js';
export { qatScheme, type QatQuantizeOptions, type QatModels, type QatTrainer } from './qat.js';
export {
  quantizeAuto,
  type AutoQuantizeOptions,
  type AutoQuantizeResult,
  type AutoCandidate,
  type AutoCandidateMode,
  type LatencyMeasure,
} from './auto.js';
export { qdqToQOperator, type QOperatorResult } from './qoperator.js';
export { checkTarget, type TargetCheckResult, type UnsupportedOp } from './target-check.js';
export { hqqBlocks, type HqqParams } from './hqq.js';
export {
  equalizeCrossLayer,
  crossLayerEqualization,
  type EqualizationOptions,
  type EqualizationResult,
  type EqualizedPair,
} from './equalize.js';
export {
  smoothQuant,
  smoothQuantization,
  type SmoothQuantOptions,
  type SmoothQuantResult,
  type SmoothedActivation,
} from './smooth-quant.js';
export { correctBiases, biasCorrection, type BiasCorrectionResult, type CorrectedBias } from './bias-correction.js';
export { channelStatistics, type ChannelStatisticRequest, type ChannelReduction } from './channel-stats.js';
export {
  refineFloatModel,
  resolveRefinements,
  validateRefinementOptions,
  type StaticRefinementOptions,
  type RefinableOptions,
  type RefinementResults,
} from './refinements.js';
export { searchRanges, type RangeSearchOptions, type RangeSearchResult, type RangeSearchStep } from './range-search.js';
