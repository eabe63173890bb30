/**
 * @edgeml/quantize: post-training quantization as passes over the @edgeml/core IR.
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
export { convertToFloat16, DEFAULT_FP16_BLOCK_LIST, type Float16Options, type Float16Result } from './float16.js';
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
export { qdqToQOperator, type QOperatorResult } from './qoperator.js';
export { checkTarget, type TargetCheckResult, type UnsupportedOp } from './target-check.js';
export { hqqBlocks, type HqqParams } from './hqq.js';
