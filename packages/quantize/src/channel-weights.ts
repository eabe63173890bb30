/**
 * Per-channel reads and writes of constant weights, shared by the float-preserving rescalings
 * (cross-layer equalization, SmoothQuant): each weight is copied once, edited in place while
 * scales are computed, and written back as a new tensor, so the input model's tensors (shared
 * by `Model.clone()`) are never touched.
 */
import { Tensor, type Value } from '@edgeml/core';

/**
 * The channel of every element of a weight of shape `dims`, along `axis`. With `group` > 1 and
 * axis 1 (a grouped Conv's input channels), element [o, l, ...] belongs to input channel
 * `groupOf(o) · dims[1] + l`, as the Conv reads it.
 */
export function channelIndex(dims: readonly number[], axis: number, group = 1): Int32Array {
  const size = dims.reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Int32Array(size);
  const perGroup = axis === 1 && group > 1 ? dims[0] / group : 0;
  for (let i = 0; i < size; i++) {
    const c = Math.floor(i / inner) % dims[axis];
    out[i] = perGroup ? Math.floor(Math.floor(i / (dims[1] * inner)) / perGroup) * dims[1] + c : c;
  }
  return out;
}

/** Largest |w| of each of `channels` channels, `index` giving each element's channel. */
export function channelAbsMax(data: Float32Array, index: Int32Array, channels: number): Float64Array {
  const out = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]);
    if (a > out[index[i]]) out[index[i]] = a;
  }
  return out;
}

/** Multiply every element by its channel's factor, in place. */
export function scaleByChannel(data: Float32Array, index: Int32Array, factor: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) data[i] *= factor[index[i]];
}

/** Working copies of constant weights, written back as new tensors by {@link WeightEdits.commit}. */
export class WeightEdits {
  private readonly copies = new Map<Value, Float32Array>();

  /** The editable float32 data of a constant (copied on first use). */
  data(value: Value): Float32Array {
    let copy = this.copies.get(value);
    if (!copy) {
      copy = Float32Array.from(value.const!.data as Float32Array);
      this.copies.set(value, copy);
    }
    return copy;
  }

  /** Replace each edited constant by a tensor of its edited data (same name, same shape). */
  commit(): void {
    for (const [value, data] of this.copies) {
      const t = Tensor.from('float32', value.const!.dims, data);
      t.name = value.name;
      value.const = t;
    }
    this.copies.clear();
  }
}

/** A float32 constant read by this one node only, so rescaling it changes nothing else. */
export const ownFloatConst = (v: Value | undefined): v is Value =>
  !!v?.const && v.const.dtype === 'float32' && v.uses().length === 1 && !v.isGraphInput;
