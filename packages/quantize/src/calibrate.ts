/**
 * Calibration: run float samples through a Backend and collect each tensor's range,
 * streaming, so memory does not grow with the number of samples.
 */
import { InvalidArgumentError, decodeModel, encodeModel, tensorType, type Backend, type Model, type Tensor } from '@edgeml/core';

/** Feeds for one calibration run: input name → tensor. */
export type CalibrationSample = Record<string, Tensor>;
export type CalibrationData = Iterable<CalibrationSample> | AsyncIterable<CalibrationSample>;

export type CalibrationMethod = 'minmax' | 'percentile';

export interface CalibrationOptions {
  method?: CalibrationMethod;
  /** minmax: exponential moving average of per-sample min/max with this constant (onnxruntime's averaging_constant), instead of the global extremes. */
  movingAverage?: number;
  /** percentile: keep this percentile of |x| (default 99.999). */
  percentile?: number;
}

/** A tensor's calibrated range. */
export interface TensorRange { min: number; max: number }

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

  constructor(private readonly options: Required<Pick<CalibrationOptions, 'method'>> & CalibrationOptions) {}

  add(data: Float32Array): void {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < data.length; i++) { const v = data[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
    if (data.length === 0) return;
    if (this.samples === 0) { this.avgMin = lo; this.avgMax = hi; }
    else if (this.options.movingAverage !== undefined) {
      const c = this.options.movingAverage;
      this.avgMin += c * (lo - this.avgMin);
      this.avgMax += c * (hi - this.avgMax);
    }
    this.samples++;
    this.min = Math.min(this.min, lo);
    this.max = Math.max(this.max, hi);
    if (this.options.method === 'percentile') this.addHistogram(data, Math.max(Math.abs(lo), Math.abs(hi)));
  }

  private addHistogram(data: Float32Array, absMax: number): void {
    if (!this.hist) { this.hist = new Float64Array(BINS); this.histMax = absMax || 1e-8; }
    while (absMax > this.histMax) {
      // Double the range: bins pair up, counts merge, nothing is lost.
      const h = this.hist;
      for (let i = 0; i < BINS / 2; i++) h[i] = h[2 * i] + h[2 * i + 1];
      h.fill(0, BINS / 2);
      this.histMax *= 2;
    }
    const k = BINS / this.histMax;
    for (let i = 0; i < data.length; i++) this.hist[Math.min(BINS - 1, Math.floor(Math.abs(data[i]) * k))]++;
  }

  range(): TensorRange {
    if (this.samples === 0) throw new InvalidArgumentError('no calibration data reached this tensor', 'calibrationData');
    if (this.options.method === 'percentile' && this.hist) {
      const p = (this.options.percentile ?? 99.999) / 100;
      const total = this.hist.reduce((a, b) => a + b, 0);
      let acc = 0, bin = BINS - 1;
      for (let i = 0; i < BINS; i++) { acc += this.hist[i]; if (acc >= p * total) { bin = i; break; } }
      const t = ((bin + 1) / BINS) * this.histMax;
      return { min: Math.max(this.min, -t), max: Math.min(this.max, t) };
    }
    return this.options.movingAverage !== undefined ? { min: this.avgMin, max: this.avgMax } : { min: this.min, max: this.max };
  }
}

async function* samplesOf(data: CalibrationData): AsyncIterable<CalibrationSample> {
  yield* data as AsyncIterable<CalibrationSample>;
}

/** Check a sample against the model's inputs; the message names the sample and input. */
export function checkSample(model: Model, sample: CalibrationSample, index: number): void {
  if (!sample || typeof sample !== 'object') throw new InvalidArgumentError(`calibration sample ${index} is not an object of input tensors`, 'calibrationData');
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  for (const name of Object.keys(sample)) {
    if (!inputs.some((v) => v.name === name)) throw new InvalidArgumentError(`calibration sample ${index} has input '${name}', but the model's inputs are ${inputs.map((v) => `'${v.name}'`).join(', ')}`, 'calibrationData');
  }
  for (const v of inputs) {
    const t = sample[v.name];
    if (!t) throw new InvalidArgumentError(`calibration sample ${index} lacks input '${v.name}'`, 'calibrationData');
    if (v.dtype && t.dtype !== v.dtype) throw new InvalidArgumentError(`calibration sample ${index}: input '${v.name}' is ${t.dtype}, the model expects ${v.dtype}`, 'calibrationData');
    const shape = v.shape;
    if (shape && (shape.length !== t.dims.length || shape.some((d, i) => typeof d === 'number' && d !== t.dims[i]))) {
      throw new InvalidArgumentError(`calibration sample ${index}: input '${v.name}' has shape [${t.dims}], the model expects [${shape.map((d) => d ?? '?')}]`, 'calibrationData');
    }
  }
}

/**
 * Run every sample through `backend` and return the range of each requested float tensor
 * of the main graph. The model itself is not modified (a copy is run, with the tensors
 * exposed as outputs).
 */
export async function calibrate(model: Model, data: CalibrationData, backend: Backend, tensors: readonly string[], options: CalibrationOptions = {}): Promise<Map<string, TensorRange>> {
  if (!data || (typeof (data as Iterable<unknown>)[Symbol.iterator] !== 'function' && typeof (data as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function')) {
    throw new InvalidArgumentError('calibrationData must be an iterable or async iterable of { inputName: Tensor } samples', 'calibrationData');
  }
  const method = options.method ?? 'minmax';
  if (method !== 'minmax' && method !== 'percentile') throw new InvalidArgumentError(`calibration method '${method}' is not available; use minmax or percentile`, 'method');
  const copy = decodeModel(encodeModel(model));
  const existing = new Set(copy.graph.outputs.map((v) => v.name));
  for (const name of tensors) {
    if (existing.has(name)) continue;
    const v = copy.graph.findValue(name);
    if (!v) throw new InvalidArgumentError(`tensor '${name}' is not in the main graph`, 'tensors');
    v.type ??= tensorType('float32');
    copy.graph.outputs.push(v);
  }
  const session = await backend.createSession(copy);
  const collectors = new Map(tensors.map((t) => [t, new RangeCollector({ ...options, method })]));
  let index = 0;
  try {
    for await (const sample of samplesOf(data)) {
      checkSample(model, sample, index);
      const out = await session.run(sample, { outputs: [...tensors] });
      for (const [name, c] of collectors) c.add(out[name].data as Float32Array);
      index++;
    }
  } finally {
    await session.dispose();
  }
  if (index === 0) throw new InvalidArgumentError('the calibration set is empty; pass at least one sample', 'calibrationData');
  return new Map([...collectors].map(([name, c]) => [name, c.range()]));
}
