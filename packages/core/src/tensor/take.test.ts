import { describe, expect, it } from 'vitest';
import { float16BitsToFloat32, float32ToFloat16Bits } from './float16.js';
import { sliceAlong, takeAlong } from './take.js';
import { Tensor } from './tensor.js';

describe('takeAlong / sliceAlong', () => {
  it('keep the dtype: float16 stays float16, bit for bit', () => {
    const values = [0.5, -1, 2, 3.25, -0.125, 7, 8, 9];
    const t = Tensor.from('float16', [4, 2], Uint16Array.from(values, float32ToFloat16Bits));
    const r = takeAlong(t, 0, [3, 1]);
    expect(r.dtype).toBe('float16');
    expect(r.dims).toEqual([2, 2]);
    expect(Array.from(r.data, float16BitsToFloat32)).toEqual([8, 9, 2, 3.25]);
  });

  it('cut an inner axis of an int64 tensor and a string tensor', () => {
    const t = Tensor.from('int64', [2, 3], [1n, 2n, 3n, 4n, 5n, 6n]);
    expect(Array.from(takeAlong(t, 1, [2, 0]).data)).toEqual([3n, 1n, 6n, 4n]);
    expect(Array.from(sliceAlong(t, -1, 1, 3).data)).toEqual([2n, 3n, 5n, 6n]);
    const s = Tensor.from('string', [3], ['a', 'b', 'c']);
    expect(takeAlong(s, 0, [1, 1]).data).toEqual(['b', 'b']);
  });

  it('move packed int4 elements one by one', () => {
    // int4 [2, 3] = [[1, -2, 3], [-4, 5, -6]], two per byte, low nibble first.
    const nib = (v: number) => v & 0xf;
    const vals = [1, -2, 3, -4, 5, -6];
    const bytes = new Uint8Array(3);
    vals.forEach((v, i) => (bytes[i >> 1] |= nib(v) << (4 * (i & 1))));
    const t = Tensor.fromBytes('int4', [2, 3], bytes);
    const r = takeAlong(t, 1, [2, 0]);
    expect(r.dtype).toBe('int4');
    expect(r.toNumbers()).toEqual([3, 1, -6, -4]);
  });

  it('refuse indices and axes out of range, naming them', () => {
    const t = Tensor.from('float32', [2, 2], [1, 2, 3, 4]);
    expect(() => takeAlong(t, 2, [0])).toThrow(/axis 2 is out of range for a tensor of shape \[2,2\]/);
    expect(() => takeAlong(t, 0, [2])).toThrow(/index 2 is out of range for axis 0 of size 2/);
    expect(() => sliceAlong(t, 0, 1, 3)).toThrow(/slice \[1, 3\) does not fit axis 0/);
  });
});
