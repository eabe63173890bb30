/**
 * Calibration: run float samples through a Backend and collect each tensor's range,
 * streaming, so memory does not grow with the number of samples.
 */
import { InvalidArgumentError, exposeOutputs, type Backend, type Model, type Tensor } from '@edgeml/core';
import { chooseRange, type RangeHistogram } from './calibrate-auto.js';

/** Feeds for one calibration run: input name → tensor. */
export type CalibrationSample = Record<string, Tensor>;
export type CalibrationData = Iterable<CalibrationSample> | AsyncIterable<CalibrationSample>;

/**
 * How a tensor's range is chosen from its values: the extremes (`minmax`), a percentile of |x|
 * (`percentile`), the KL-minimising clip (`entropy`), or per tensor whichever of those three
 * quantizes that tensor's calibration values with the least error (`auto`).
 */
export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy' | 'auto';

export interface CalibrationOptions {
  method?: CalibrationMethod;
  /** auto: the activation type the ranges are for, which sets the step each candidate range gives (default uint8). */
  activationType?: 'uint8' | 'int8' | 'int16' | 'uint4' | 'int4';
  /** minmax: exponential moving average of per-sample min/max with this constant (onnxruntime's averaging_constant), instead of the global extremes. */
  movingAverage?: number;
  /** percentile: keep this percentile of |x| (default 99.999). */
  percentile?: number;
  /** Called after each sample (the CLI draws its progress bar with it). */
  onProgress?: (samplesDone: number) => void;
  /** entropy: quantization levels the threshold search assumes (default 256 for non-negative tensors, else 128). */
  entropyLevels?: number;
  /**
   * Hand each sample's outputs (the calibrated tensors plus these `extra` names, e.g. the graph
   * outputs) to `onOutputs`. quantize() keeps them as the float reference of its error report,
   * so the float model need not run a second time.
   */
  keepOutputs?: { extra: readonly string[]; onOutputs: (outputs: Record<string, Tensor>) => void };
}

/** A tensor's calibrated range. */
export interface TensorRange {
  min: number;
  max: number;
  /** method auto: the method whose range this is. */
  method?: Exclude<CalibrationMethod, 'auto'>;
  /** method auto: SQNR (dB) each method's range would give this tensor's calibration values, quantized and dequantized. */
  sqnrDb?: Partial<Record<Exclude<CalibrationMethod, 'auto'>, number>>;
  /** method auto: every method's range, so that a later step can choose by the output instead (see `rangeSearch`). */
  candidates?: Partial<Record<Exclude<CalibrationMethod, 'auto'>, { min: number; max: number }>>;
}

const BINS = 2048;

/** Fixed-size per-tensor state: extremes plus an |x| histogram whose range doubles as needed. */
class RangeCollector {
  min = Infinity;
  max = -Infinity;
  avgMin = 0;
  avgMax = 0;
  samples = 0;
  hist?: Float64Array;
  histMax = 0;
  /** Exact zeros (ReLU outputs are full of them): any scale represents them exactly, so the KL search ignores them. */
  zeros = 0;

  constructor(private readonly options: Required<Pick<CalibrationOptions, 'method'>> & CalibrationOptions) {}

  add(data: Float32Array): void {
    let lo = Infinity,
      hi = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (data.length === 0) return;
    if (this.samples === 0) {
      this.avgMin = lo;
      this.avgMax = hi;
    } else if (this.options.movingAverage !== undefined) {
      const c = this.options.movingAverage;
      this.avgMin += c * (lo - this.avgMin);
      this.avgMax += c * (hi - this.avgMax);
    }
    this.samples++;
    this.min = Math.min(this.min, lo);
    this.max = Math.max(this.max, hi);
    if (this.options.method !== 'minmax') this.addHistogram(data, Math.max(Math.abs(lo), Math.abs(hi)));
  }

  private addHistogram(data: Float32Array, absMax: number): void {
    if (!this.hist) {
      this.hist = new Float64Array(BINS);
      this.histMax = absMax || 1e-8;
    }
    while (absMax > this.histMax) {
      // Double the range: bins pair up, counts merge, nothing is lost.
      const h = this.hist;
      for (let i = 0; i < BINS / 2; i++) h[i] = h[2 * i] + h[2 * i + 1];
      h.fill(0, BINS / 2);
      this.histMax *= 2;
    }
    const k = BINS / this.histMax;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v === 0) this.zeros++;
      this.hist[Math.min(BINS - 1, Math.floor(Math.abs(v) * k))]++;
    }
  }

  range(): TensorRange {
    if (this.samples === 0)
      throw new InvalidArgumentError('no calibration data reached this tensor', 'calibrationData');
    if (this.options.method !== 'auto' || !this.hist) return this.rangeBy(this.options.method);
    const histogram: RangeHistogram = { counts: this.hist, absMax: this.histMax, zeros: this.zeros };
    return chooseRange(
      { minmax: this.rangeBy('minmax'), percentile: this.rangeBy('percentile'), entropy: this.rangeBy('entropy') },
      histogram,
      this.options.activationType ?? 'uint8',
    );
  }

  /** The range one method gives, from the extremes and histogram collected. */
  private rangeBy(method: CalibrationMethod): TensorRange {
    if (method === 'percentile' && this.hist) {
      const p = (this.options.percentile ?? 99.999) / 100;
      const total = this.hist.reduce((a, b) => a + b, 0);
      let acc = 0,
        bin = BINS - 1;
      for (let i = 0; i < BINS; i++) {
        acc += this.hist[i];
        if (acc >= p * total) {
          bin = i;
          break;
        }
      }
      return this.clippedAt(((bin + 1) / BINS) * this.histMax);
    }
    if (method === 'entropy' && this.hist) {
      const nonZero = Float64Array.from(this.hist);
      nonZero[0] -= this.zeros;
      // A tensor that never goes negative gets all 256 uint8 levels on [0, t]; a signed one 128 per side.
      const levels = this.options.entropyLevels ?? (this.min >= 0 ? 256 : 128);
      return this.clippedAt(((klThresholdBin(nonZero, levels) + 0.5) / BINS) * this.histMax);
    }
    return this.options.movingAverage !== undefined
      ? { min: this.avgMin, max: this.avgMax }
      : { min: this.min, max: this.max };
  }

  /**
   * The extremes clipped to ±t. A one-signed tensor whose values all lie past t (every value of
   * an offset activation above the KL threshold) keeps its observed range: clipping would leave
   * an empty one.
   */
  private clippedAt(t: number): TensorRange {
    const min = Math.max(this.min, -t),
      max = Math.min(this.max, t);
    return min <= max ? { min, max } : { min: this.min, max: this.max };
  }
}

/**
 * The clipping bin that minimises KL(P‖Q) between the |x| histogram clipped there (P,
 * outliers folded into the last bin) and its quantization to `levels` levels (Q), as in
 * TensorRT's entropy calibration.
 */
export function klThresholdBin(hist: Float64Array, levels: number): number {
  const n = hist.length;
  // Prefix sums make each group's terms O(1): within a group Q is one value q, so
  // Σ p·log(p/q) = (Σ h·log h − Σ h·log T)/T − log q · Σ h/T, with T the whole mass (P's total
  // at every threshold: what lies past it is folded into its last bin).
  const mass = new Float64Array(n + 1),
    hLogH = new Float64Array(n + 1),
    nonZero = new Float64Array(n + 1);
  for (let k = 0; k < n; k++) {
    const h = hist[k];
    mass[k + 1] = mass[k] + h;
    hLogH[k + 1] = hLogH[k] + (h > 0 ? h * Math.log(h) : 0);
    nonZero[k + 1] = nonZero[k] + (h > 0 ? 1 : 0);
  }
  const total = mass[n];
  let best = n - 1,
    bestKl = Infinity;
  if (total === 0) return best;
  const logTotal = Math.log(total);
  const groupMass = new Float64Array(levels),
    groupNonZero = new Float64Array(levels);
  for (let i = levels; i <= n; i++) {
    // P: the histogram clipped at bin i − 1, the outliers folded into it. Q: the clipped
    // histogram without them, merged into `levels` groups, each group's mass spread evenly over
    // the bins where P is non-zero.
    const last = i - 1,
      pLast = hist[last] + (total - mass[i]);
    const per = i / levels;
    const bounds = (g: number) => [Math.floor(g * per), g === levels - 1 ? i : Math.floor((g + 1) * per)];
    let qTotal = 0;
    for (let g = 0; g < levels; g++) {
      const [start, end] = bounds(g);
      groupMass[g] = mass[end] - mass[start];
      groupNonZero[g] = nonZero[end] - nonZero[start];
      if (end === i) groupNonZero[g] += (pLast > 0 ? 1 : 0) - (hist[last] > 0 ? 1 : 0);
      if (groupNonZero[g]) qTotal += groupMass[g];
    }
    let kl = 0;
    for (let g = 0; g < levels; g++) {
      if (!groupNonZero[g]) continue;
      const [start, end] = bounds(g);
      const q = groupMass[g] / groupNonZero[g] / qTotal;
      // Every bin but P's last is hist itself.
      const upTo = end === i ? last : end;
      const h = mass[upTo] - mass[start];
      if (h > 0) kl += (hLogH[upTo] - hLogH[start] - h * logTotal) / total - (Math.log(q) * h) / total;
      if (end === i && pLast > 0) kl += q > 0 ? (pLast / total) * Math.log(pLast / total / q) : (pLast / total) * 20;
    }
    if (kl < bestKl) {
      bestKl = kl;
      best = last;
    }
  }
  return best;
}

async function* samplesOf(data: CalibrationData): AsyncIterable<CalibrationSample> {
  yield* data as AsyncIterable<CalibrationSample>;
}

/** Check a sample against the model's inputs; the message names the sample and input. */
export function checkSample(model: Model, sample: CalibrationSample, index: number): void {
  if (!sample || typeof sample !== 'object')
    throw new InvalidArgumentError(`calibration sample ${index} is not an object of input tensors`, 'calibrationData');
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  for (const name of Object.keys(sample)) {
    if (!inputs.some((v) => v.name === name))
      throw new InvalidArgumentError(
        `calibration sample ${index} has input '${name}', but the model's inputs are ${inputs.map((v) => `'${v.name}'`).join(', ')}`,
        'calibrationData',
      );
  }
  for (const v of inputs) {
    const t = sample[v.name];
    if (!t) throw new InvalidArgumentError(`calibration sample ${index} lacks input '${v.name}'`, 'calibrationData');
    if (v.dtype && t.dtype !== v.dtype)
      throw new InvalidArgumentError(
        `calibration sample ${index}: input '${v.name}' is ${t.dtype}, the model expects ${v.dtype}`,
        'calibrationData',
      );
    const shape = v.shape;
    if (shape && (shape.length !== t.dims.length || shape.some((d, i) => typeof d === 'number' && d !== t.dims[i]))) {
      throw new InvalidArgumentError(
        `calibration sample ${index}: input '${v.name}' has shape [${t.dims}], the model expects [${shape.map((d) => d ?? '?')}]`,
        'calibrationData',
      );
    }
  }
}

/**
 * Run every sample through `backend` and return the range of each requested float tensor
 * of the main graph. The model itself is not modified (a copy is run, with the tensors
 * exposed as outputs).
 */
export async function calibrate(
  model: Model,
  data: CalibrationData,
  backend: Backend,
  tensors: readonly string[],
  options: CalibrationOptions = {},
): Promise<Map<string, TensorRange>> {
  if (
    !data ||
    (typeof (data as Iterable<unknown>)[Symbol.iterator] !== 'function' &&
      typeof (data as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function')
  ) {
    throw new InvalidArgumentError(
      'calibrationData must be an iterable or async iterable of { inputName: Tensor } samples',
      'calibrationData',
    );
  }
  const method = options.method ?? 'minmax';
  if (!['minmax', 'percentile', 'entropy', 'auto'].includes(method))
    throw new InvalidArgumentError(
      `calibration method '${method}' is not available; use minmax, percentile, entropy or auto`,
      'method',
    );
  const { model: probe } = exposeOutputs(model, tensors);
  const available = new Set(probe.graph.outputs.map((v) => v.name));
  const missing = tensors.find((name) => !available.has(name));
  if (missing !== undefined)
    throw new InvalidArgumentError(`tensor '${missing}' is not an activation of the main graph`, 'tensors');
  const session = await backend.createSession(probe);
  // Entropy clipping suits inner activations; the model's own inputs and outputs (pixels,
  // class scores) keep their full range, or the interface itself would be distorted.
  const io = new Set([...model.graph.inputs, ...model.graph.outputs].map((v) => v.name));
  const collectors = new Map(
    tensors.map((t) => [
      t,
      new RangeCollector({ ...options, method: method !== 'percentile' && io.has(t) ? 'minmax' : method }),
    ]),
  );
  let index = 0;
  const keep = options.keepOutputs;
  const names = keep ? [...new Set([...tensors, ...keep.extra])] : [...tensors];
  try {
    for await (const sample of samplesOf(data)) {
      checkSample(model, sample, index);
      const out = await session.run(sample, { outputs: names });
      for (const [name, c] of collectors) c.add(out[name].data as Float32Array);
      keep?.onOutputs(out);
      index++;
      options.onProgress?.(index);
    }
  } finally {
    await session.dispose();
  }
  if (index === 0)
    throw new InvalidArgumentError('the calibration set is empty; pass at least one sample', 'calibrationData');
  return new Map([...collectors].map(([name, c]) => [name, c.range()]));
}
