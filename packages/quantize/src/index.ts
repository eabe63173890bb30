/**
 * @edgeml/quantize: post-training quantization as passes over the @edgeml/core IR.
 * @module
 */
export { quantizeDynamic, type DynamicQuantizeOptions, type DynamicQuantizeResult } from './dynamic.js';
export { quantizeWeight, computeScaleZeroPoint, quantRange, roundHalfEven, packNibbles, type QuantType, type QuantRange, type ScaleZeroPoint, type QuantizedWeight } from './quant-params.js';
export { isExcluded, type Exclusion, type NodeOutcome } from './select.js';
