/**
 * Calibration method per tensor (`method: 'auto'`): the minmax, percentile and entropy ranges
 * all come from one collection pass (the extremes and the |x| histogram), and each tensor keeps
 * the one under which its own calibration values come back closest after quantizing and
 * dequantizing: the highest SQNR, rounding noise inside the range plus clipping error outside
 * it. This is the mean-squared-error criterion of TensorRT's and NNCF's MSE calibrators, applied
 * to choose among the three ranges rather than to scan thresholds.
 */
import type { CalibrationMethod, TensorRange } from './calibrate.js';

/** A tensor's |x| histogram: `counts.length` equal bins over [0, absMax], and how many values were exactly 0. */
export interface RangeHistogram {
  counts: Float64Array;
  absMax: number;
  zeros: number;
}

type Method = Exclude<CalibrationMethod, 'auto'>;

/** The activation types a range can be chosen for. */
export type RangeType = 'uint8' | 'int8' | 'int16' | 'uint4' | 'int4';

/** Levels past the first of each type: unsigned types are asymmetric, signed ones symmetric ([-127, 127], ...). */
const STEPS: Record<RangeType, number> = { uint8: 255, int8: 254, int16: 65534, uint4: 15, int4: 14 };

/** Integer steps a range is divided into, for each activation type (unsigned asymmetric, signed symmetric). */
function stepOf(range: TensorRange, type: RangeType): number {
  const lo = Math.min(range.min, 0),
    hi = Math.max(range.max, 0);
  if (type.startsWith('u')) return (hi - lo) / STEPS[type];
  return (2 * Math.max(-lo, hi)) / STEPS[type];
}

/**
 * SQNR (dB) of the histogram's values quantized to `range`: a value inside it is off by the
 * rounding noise step²/12, one past the clip by its distance to the clip. Exact zeros are
 * represented exactly (the zero point), so they add signal neither noise.
 */
export function histogramSqnrDb(histogram: RangeHistogram, range: TensorRange, type: RangeType): number {
  const { counts, absMax, zeros } = histogram;
  const width = absMax / counts.length;
  const clip = Math.max(-range.min, range.max);
  const rounding = stepOf(range, type) ** 2 / 12;
  let signal = 0,
    noise = 0;
  for (let b = 0; b < counts.length; b++) {
    const n = b === 0 ? counts[b] - zeros : counts[b];
    if (n <= 0) continue;
    const x = (b + 0.5) * width;
    signal += n * x * x;
    noise += n * (x > clip ? (x - clip) ** 2 : rounding);
  }
  if (noise === 0) return Infinity;
  return 10 * Math.log10(signal / noise);
}

/** The candidate range with the highest SQNR on the histogram, labelled with its method and every candidate's SQNR. */
export function chooseRange(
  candidates: Record<Method, TensorRange>,
  histogram: RangeHistogram,
  type: RangeType,
): TensorRange {
  const sqnrDb: Partial<Record<Method, number>> = {};
  const methods = Object.keys(candidates) as Method[];
  for (const method of methods) sqnrDb[method] = histogramSqnrDb(histogram, candidates[method], type);
  // A clip must beat the extremes by more than the histogram's resolution (bins of 1/2048 of the
  // range move the estimate by hundredths of a dB): on a tie every value stays representable.
  let best: Method = 'minmax';
  for (const method of methods) if (sqnrDb[method]! > sqnrDb[best]! + (best === 'minmax' ? 0.1 : 0)) best = method;
  return { ...candidates[best], method: best, sqnrDb, candidates };
}
