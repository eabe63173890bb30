import type { DType } from './dtype.js';

/**
 * Decode one float8 byte (the ONNX float8 variants and E8M0) to a number.
 * FN variants have no infinities; FNUZ variants have no negative zero and use 0x80 as NaN.
 */
export function float8ToFloat32(dtype: DType, byte: number): number {
  switch (dtype) {
    case 'float8e4m3fn': {
      if ((byte & 0x7f) === 0x7f) return NaN;
      return decode(byte, 4, 3, 7);
    }
    case 'float8e4m3fnuz':
      if (byte === 0x80) return NaN;
      return decode(byte, 4, 3, 8);
    case 'float8e5m2': {
      const exp = (byte >> 2) & 0x1f;
      if (exp === 0x1f) return byte & 3 ? NaN : byte & 0x80 ? -Infinity : Infinity;
      return decode(byte, 5, 2, 15);
    }
    case 'float8e5m2fnuz':
      if (byte === 0x80) return NaN;
      return decode(byte, 5, 2, 16);
    case 'float8e8m0':
      return byte === 0xff ? NaN : 2 ** (byte - 127);
    default:
      throw new TypeError(`${dtype} is not a float8 type`);
  }
}

function decode(byte: number, expBits: number, mantBits: number, bias: number): number {
  const sign = byte & 0x80 ? -1 : 1;
  const exp = (byte >> mantBits) & ((1 << expBits) - 1);
  const mant = byte & ((1 << mantBits) - 1);
  if (exp === 0) return sign * mant * 2 ** (1 - bias - mantBits);
  return sign * (1 + mant / (1 << mantBits)) * 2 ** (exp - bias);
}
