/** Tensor conversion with onnxruntime-node's own Tensor class. */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { BackendError, Tensor } from '@edgeml/core';
import { ORT_JS_TYPES, ortTensorConverter, tensorFromOrt } from './index.js';

describe('ortTensorConverter', () => {
  const toOrt = ortTensorConverter('onnxruntime-node', ort.Tensor);

  it("wraps a Tensor once, sharing its buffer both ways, as the runtime's own class", () => {
    const t = Tensor.from('int64', [2, 2], [1n, -2n, 3n, 2n ** 62n]);
    const wrapped = toOrt(t, 'x');
    expect(wrapped).toBeInstanceOf(ort.Tensor);
    expect(toOrt(t, 'x')).toBe(wrapped);
    expect(wrapped.data).toBe(t.data);
    expect(wrapped.dims).toEqual([2, 2]);
    const back = tensorFromOrt(wrapped);
    expect(back.dtype).toBe('int64');
    expect(back.data).toBe(wrapped.data);
  });

  it('refuses element types onnxruntime cannot take from JavaScript, naming the input', () => {
    expect(ORT_JS_TYPES.has('bfloat16')).toBe(false);
    const t = Tensor.from('bfloat16', [1], new Uint16Array([0x3f80]));
    expect(() => toOrt(t, 'scale')).toThrow(BackendError);
    expect(() => toOrt(t, 'scale')).toThrow(/input 'scale': onnxruntime-node cannot take bfloat16 tensors/);
  });
});
