import type { Tensor } from '@edgeml/core';

/** The ONNX backend tests' tolerances (onnx/backend/test/runner: rtol 1e-3, atol 1e-7). */
export const RTOL = 1e-3;
export const ATOL = 1e-7;

/** Why `actual` is not `expected` within tolerance, or undefined when it is. NaN matches NaN. */
export function mismatch(actual: Tensor, expected: Tensor, rtol = RTOL, atol = ATOL): string | undefined {
  if (actual.dims.join() !== expected.dims.join()) return `shape [${actual.dims}] vs expected [${expected.dims}]`;
  if (actual.dtype !== expected.dtype) return `type ${actual.dtype} vs expected ${expected.dtype}`;
  if (actual.dtype === 'string') {
    const text = (t: Tensor) => t.stringBytes.map((b) => new TextDecoder().decode(b));
    const a = text(actual),
      e = text(expected);
    const i = e.findIndex((s, k) => s !== a[k]);
    return i < 0 ? undefined : `element ${i}: '${a[i]}' vs expected '${e[i]}'`;
  }
  const a = actual.toFloat64(),
    e = expected.toFloat64();
  for (let i = 0; i < e.length; i++) {
    const x = a[i],
      y = e[i];
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) return `element ${i}: ${x} vs expected ${y}`;
  }
  return undefined;
}
