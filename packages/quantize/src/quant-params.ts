/**
 * Linear quantization arithmetic, following onnxruntime's conventions so its fused kernels
 * see the forms they expect: ranges always include 0, symmetric int8 uses [-127, 127],
 * `reduceRange` drops one bit (7-bit weights for CPUs without VNNI), rounding is half to even.
 */
import {
  InvalidArgumentError,
  ReadBuffer,
  Tensor,
  integerStorage,
  quantTensor,
  roundHalfEven,
  type QuantType,
} from '@edgeml/core';

export { packNibbles, quantTensor, roundHalfEven, type QuantType } from '@edgeml/core';

export interface QuantRange {
  qmin: number;
  qmax: number;
}

/** The integer range for a type (onnxruntime's get_qmin_qmax_for_qType). */
export function quantRange(type: QuantType, options: { symmetric?: boolean; reduceRange?: boolean } = {}): QuantRange {
  const { symmetric = false, reduceRange = false } = options;
  switch (type) {
    case 'int8':
      return reduceRange ? { qmin: -64, qmax: 64 } : symmetric ? { qmin: -127, qmax: 127 } : { qmin: -128, qmax: 127 };
    case 'uint8':
      return reduceRange ? { qmin: 0, qmax: 127 } : { qmin: 0, qmax: 255 };
    case 'int16':
      return symmetric ? { qmin: -32767, qmax: 32767 } : { qmin: -32768, qmax: 32767 };
    case 'uint16':
      return { qmin: 0, qmax: 65535 };
    case 'int4':
      return symmetric ? { qmin: -7, qmax: 7 } : { qmin: -8, qmax: 7 };
    case 'uint4':
      return { qmin: 0, qmax: 15 };
  }
}

export interface ScaleZeroPoint {
  scale: number;
  zeroPoint: number;
}

/**
 * Scale and zero point that map [rmin, rmax] (widened to include 0) onto [qmin, qmax].
 * Symmetric ranges centre on 0 (zero point 0 for signed types, the midpoint for unsigned).
 */
export function computeScaleZeroPoint(
  rmin: number,
  rmax: number,
  range: QuantRange,
  symmetric: boolean,
): ScaleZeroPoint {
  if (!Number.isFinite(rmin) || !Number.isFinite(rmax) || rmin > rmax)
    throw new InvalidArgumentError(`invalid calibration range [${rmin}, ${rmax}]`, 'range');
  let lo = Math.min(rmin, 0),
    hi = Math.max(rmax, 0);
  if (symmetric) {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -m;
    hi = m;
  }
  let scale = Math.fround((hi - lo) / (range.qmax - range.qmin));
  if (scale === 0 || !Number.isFinite(scale)) scale = 1;
  const zeroPoint = symmetric
    ? range.qmin < 0
      ? 0
      : Math.round((range.qmin + range.qmax) / 2)
    : Math.min(range.qmax, Math.max(range.qmin, roundHalfEven(range.qmin - lo / scale)));
  return { scale, zeroPoint };
}

/** Quantize values with one scale and zero point. */
export function quantizeArray(
  values: ArrayLike<number>,
  { scale, zeroPoint }: ScaleZeroPoint,
  range: QuantRange,
  out: Int32Array = new Int32Array(values.length),
  offset = 0,
  stride = 1,
): Int32Array {
  for (let i = 0; i < values.length; i++) {
    const q = roundHalfEven(values[i] / scale) + zeroPoint;
    out[offset + i * stride] = q < range.qmin ? range.qmin : q > range.qmax ? range.qmax : q;
  }
  return out;
}

export interface QuantizedWeight {
  /** Quantized values as a tensor of the quant type (same dims as the weight). */
  quantized: Tensor;
  /** float32 scale: a scalar, or one per channel along `axis`. */
  scale: Tensor<'float32'>;
  /** Zero point of the quant type, scalar or per channel. */
  zeroPoint: Tensor;
  /** Channel axis for per-channel quantization. */
  axis?: number;
}

/** Where float weights still on disk are read, one at a time (it grows to the largest). */
const weightBuffer = new ReadBuffer();

/**
 * Quantize a float weight, per tensor or per channel along `axis`.
 *
 * Hot path for large models: reads float32 data in place and writes the integer type
 * directly (no float64 or int32 copies).
 *
 * @example
 * ```ts
 * const { quantized, scale, zeroPoint } = quantizeWeight(w, { type: 'int8', symmetric: true, axis: 0 });
 * ```
 */
export function quantizeWeight(
  weight: Tensor,
  options: { type: QuantType; symmetric: boolean; reduceRange?: boolean; axis?: number },
): QuantizedWeight {
  // A weight left in the model file is read into the shared buffer: no garbage per weight.
  const values: ArrayLike<number> =
    weight.dtype === 'float32' ? (weight.readData(weightBuffer) as Float32Array) : weight.toFloat64();
  const range = quantRange(options.type, options);
  const dims = weight.dims;
  const packed = options.type === 'int4' || options.type === 'uint4';
  const out = packed ? new Int32Array(values.length) : integerStorage(options.type as 'int8', values.length);
  const axis = options.axis === undefined ? undefined : options.axis < 0 ? options.axis + dims.length : options.axis;
  const channels = axis === undefined ? 1 : dims[axis];
  const inner = axis === undefined ? values.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = axis === undefined ? 1 : dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const scales = new Float32Array(channels);
  const zps = new Int32Array(channels);
  const lo = new Float64Array(channels).fill(Infinity),
    hi = new Float64Array(channels).fill(-Infinity);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      let l = lo[c],
        h = hi[c];
      for (let i = base; i < base + inner; i++) {
        const v = values[i];
        if (v < l) l = v;
        if (v > h) h = v;
      }
      lo[c] = l;
      hi[c] = h;
    }
  }
  for (let c = 0; c < channels; c++) {
    const sz = computeScaleZeroPoint(
      lo[c] === Infinity ? 0 : lo[c],
      hi[c] === -Infinity ? 0 : hi[c],
      range,
      options.symmetric,
    );
    scales[c] = sz.scale;
    zps[c] = sz.zeroPoint;
  }
  const { qmin, qmax } = range;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const scale = scales[c],
        zp = zps[c];
      const base = (o * channels + c) * inner;
      for (let i = base; i < base + inner; i++) {
        const x = values[i] / scale;
        let r = Math.round(x);
        // Math.round sends halves up; onnxruntime rounds them to even.
        if (r - x === 0.5 && (r & 1) !== 0) r -= 1;
        r += zp;
        out[i] = r < qmin ? qmin : r > qmax ? qmax : r;
      }
    }
  }
  const quantized = packed ? quantTensor(options.type, dims, out as Int32Array) : Tensor.from(options.type, dims, out);
  if (axis === undefined)
    return {
      quantized,
      scale: Tensor.from('float32', [], [scales[0]]),
      zeroPoint: quantTensor(options.type, [], Int32Array.of(zps[0])),
    };
  return {
    quantized,
    scale: Tensor.from('float32', [channels], scales),
    zeroPoint: quantTensor(options.type, [channels], zps),
    axis,
  };
}

/** Swap the last two axes of row-major float data: [batch, rows, cols] → [batch, cols, rows]. */
export function transposeLastTwo(src: Float32Array, batch: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(batch * rows * cols);
  for (let k = 0; k < batch; k++) {
    const base = k * rows * cols;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[base + j * rows + i] = src[base + i * cols + j];
  }
  return out;
}
