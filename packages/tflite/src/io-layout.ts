import type { Tensor } from '@edgeml/core';
import { transposeConstant } from './context.js';
import { channelsLast, invertPerm } from './layout.js';

/**
 * An NCHW tensor (rank ≥ 3: channels second) in NHWC order (channels last), as a .tflite
 * exported with `ioLayout: 'nhwc'` takes it; other ranks are returned as they are.
 *
 * @example
 * ```ts
 * const feeds = { x: nchwToNhwc(imageNchw) }; // [1, 3, 224, 224] → [1, 224, 224, 3]
 * ```
 */
export function nchwToNhwc(t: Tensor): Tensor {
  return t.dims.length < 3 ? t : transposeConstant(t, channelsLast(t.dims.length));
}

/** The inverse of {@link nchwToNhwc}: an NHWC tensor (e.g. a .tflite's output) in NCHW order. */
export function nhwcToNchw(t: Tensor): Tensor {
  return t.dims.length < 3 ? t : transposeConstant(t, invertPerm(channelsLast(t.dims.length)));
}
