/** The ops static quantization takes for a full-integer TFLite model. */
import type { OpName } from '@edgeml/core';
import { STATIC_OPS } from './static-qdq.js';

/**
 * The ops to quantize for a full-integer TFLite model (what TFLiteConverter's int8 scheme runs on
 * int8 kernels): {@link STATIC_OPS} and ConvTranspose (TRANSPOSE_CONV), HardSwish, HardSigmoid, Tanh, Sub, ReduceMean, Max, Min, Slice and
 * Resize's neighbours, so that every activation between the float input and output has a range.
 * Use with `activationType: 'int8'`, `activationSymmetric: false`, `perChannel: true`.
 */
export const TFLITE_STATIC_OPS = [
  ...STATIC_OPS,
  'ConvTranspose',
  'HardSwish',
  'HardSigmoid',
  'Tanh',
  'Sub',
  'ReduceMean',
  'Max',
  'Min',
  'Slice',
  'PRelu',
  'DepthToSpace',
  'SpaceToDepth',
] as const satisfies readonly OpName[];
