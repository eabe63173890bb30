/**
 * Tensors as plain JSON values, for crossing into a browser page (playwright's evaluate) and
 * back; browser-safe (only @edgeml/core), so the test pages import it too.
 */
import { Tensor, type DType } from '@edgeml/core';

export interface PlainTensor {
  dtype: DType;
  dims: number[];
  data: number[];
}

/** Each tensor as dtype, dims and its values as numbers. */
export const toPlain = (tensors: Record<string, Tensor>): Record<string, PlainTensor> =>
  Object.fromEntries(
    Object.entries(tensors).map(([k, t]) => [
      k,
      { dtype: t.dtype, dims: [...t.dims], data: Array.from(t.toFloat64()) },
    ]),
  );

/** The tensors {@link toPlain} described. */
export const fromPlain = (plain: Record<string, PlainTensor>): Record<string, Tensor> =>
  Object.fromEntries(Object.entries(plain).map(([k, t]) => [k, Tensor.from(t.dtype, t.dims, t.data)]));
