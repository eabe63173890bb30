import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Tensor } from './tensor.js';
import { ALL_DTYPES, dtypeInfo, dtypeFromOnnx } from './dtype.js';
import { float32ToFloat16Bits, float16BitsToFloat32, float32ToBfloat16Bits, bfloat16BitsToFloat32 } from './float16.js';
import { float8ToFloat32 } from './float8.js';
import { InvalidArgumentError } from '../errors.js';

/** Values that exercise rounding, subnormals, overflow and signed zero. */
function probeValues(): Float32Array {
  const v: number[] = [
    0,
    -0,
    1,
    -1,
    0.1,
    1 / 3,
    65504,
    65520,
    70000,
    -70000,
    1e-8,
    6e-8,
    5.96e-8,
    2.98e-8,
    6.1e-5,
    1e38,
    3.4e38,
    -1e-40,
    Infinity,
    -Infinity,
  ];
  let s = 99;
  for (let i = 0; i < 5000; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const mant = s / 2 ** 32;
    s = (s * 1103515245 + 12345) >>> 0;
    v.push((mant - 0.5) * 2 ** ((s % 80) - 40));
  }
  return Float32Array.from(v);
}

/** numpy and onnx.helper as oracles for the 16-bit float conversions. */
function python(script: string, input: Float32Array): Uint16Array {
  const res = spawnSync('/usr/bin/python3', ['-c', script], { input: Buffer.from(input.buffer) });
  if (res.status !== 0) throw new Error(res.stderr.toString());
  return new Uint16Array(new Uint8Array(res.stdout).buffer);
}

describe('16-bit float conversion', () => {
  const values = probeValues();

  it('float16 matches numpy bit for bit (round to nearest even)', () => {
    const expected = python(
      'import sys, numpy as np; sys.stdout.buffer.write(np.frombuffer(sys.stdin.buffer.read(), np.float32).astype(np.float16).tobytes())',
      values,
    );
    const got = Uint16Array.from(values, float32ToFloat16Bits);
    expect(Array.from(got)).toEqual(Array.from(expected));
    // And back: the raw float16 bits go in, numpy widens them to float32.
    const back = new Float32Array(
      python(
        'import sys, numpy as np; sys.stdout.buffer.write(np.frombuffer(sys.stdin.buffer.read(), np.float16).astype(np.float32).tobytes())',
        new Float32Array(got.buffer.slice(0)),
      ).buffer,
    );
    expect(Array.from(got, float16BitsToFloat32)).toEqual(Array.from(back));
  });

  it('bfloat16 matches onnx.helper.float32_to_bfloat16', () => {
    const finite = values.filter(Number.isFinite);
    const expected = python(
      'import sys, struct, numpy as np; from onnx import helper; a=np.frombuffer(sys.stdin.buffer.read(), np.float32); sys.stdout.buffer.write(np.array([helper.float32_to_bfloat16(float(x)) for x in a], np.uint16).tobytes())',
      finite,
    );
    expect(Array.from(finite, float32ToBfloat16Bits)).toEqual(Array.from(expected));
    expect(bfloat16BitsToFloat32(0x3f80)).toBe(1);
  });
});

describe('float8', () => {
  it("decodes the formats' landmark values", () => {
    expect(float8ToFloat32('float8e4m3fn', 0x7e)).toBe(448);
    expect(Number.isNaN(float8ToFloat32('float8e4m3fn', 0x7f))).toBe(true);
    expect(float8ToFloat32('float8e5m2', 0x7b)).toBe(57344);
    expect(float8ToFloat32('float8e5m2', 0x7c)).toBe(Infinity);
    expect(float8ToFloat32('float8e4m3fnuz', 0x7f)).toBe(240);
    expect(Number.isNaN(float8ToFloat32('float8e5m2fnuz', 0x80))).toBe(true);
    expect(float8ToFloat32('float8e4m3fn', 0x01)).toBe(2 ** -9);
    expect(float8ToFloat32('float8e8m0', 127)).toBe(1);
  });
});

describe('Tensor', () => {
  it('covers every ONNX element type with a storage form', () => {
    for (const dtype of ALL_DTYPES) {
      const info = dtypeInfo(dtype);
      expect(dtypeFromOnnx(info.onnx)).toBe(dtype);
      if (dtype === 'string') continue;
      const count = 6;
      const t = Tensor.fromBytes(dtype, [2, 3], new Uint8Array(Math.ceil((count * info.bits) / 8)));
      expect(t.size).toBe(6);
      expect(t.bytes.byteLength).toBe(t.byteLength);
    }
  });

  it('keeps zero-copy views of aligned bytes and copies unaligned ones once', () => {
    const buf = new Uint8Array(20);
    new Float32Array(buf.buffer, 4, 2).set([1.5, -2]);
    const aligned = Tensor.fromBytes('float32', [2], buf.subarray(4, 12));
    expect(aligned.data.buffer).toBe(buf.buffer);
    const odd = new Uint8Array(21);
    odd.set(buf.subarray(4, 12), 1);
    const unaligned = Tensor.fromBytes('float32', [2], odd.subarray(1, 9));
    expect(Array.from(unaligned.data)).toEqual([1.5, -2]);
    expect(unaligned.data).toBe(unaligned.data);
  });

  it('unpacks int4 and reads int64 as BigInt64Array', () => {
    const t = Tensor.fromBytes('int4', [3], Uint8Array.from([0x9f, 0x07]));
    expect(t.toNumbers()).toEqual([-1, -7, 7]);
    const big = Tensor.from('int64', [2], [9007199254740993n, -1n]);
    expect(big.data).toBeInstanceOf(BigInt64Array);
    expect(big.data[0]).toBe(9007199254740993n);
  });

  it('rejects bad shapes and sizes with typed errors', () => {
    expect(() => Tensor.from('float32', [2, 2], [1, 2, 3])).toThrow(InvalidArgumentError);
    expect(() => Tensor.from('float32', [-1], [])).toThrow(/non-negative/);
    expect(() => Tensor.fromBytes('float32', [2], new Uint8Array(7))).toThrow(/needs 8 bytes/);
    expect(() => Tensor.from('float32', [2], [1, 2]).reshape([3])).toThrow(/cannot reshape/);
  });

  it('holds strings', () => {
    const t = Tensor.from('string', [2], ['héllo', '']);
    expect(t.data).toEqual(['héllo', '']);
  });
});
