/**
 * Per-channel statistics of activations, measured by running the model on samples: what
 * SmoothQuant (largest |x| per input channel) and bias correction (mean output error per
 * channel) need beyond calibration's one range per tensor.
 */
import { InvalidArgumentError, exposeOutputs, type Backend, type Model, type Tensor } from '@edgeml/core';
import type { CalibrationData, CalibrationSample } from './calibrate.js';

/** How a channel's values are summarised: their mean, or their largest magnitude. */
export type ChannelReduction = 'mean' | 'absMax';

/** One tensor to summarise: its name, the axis its channels lie on (negative counts from the end), and how. */
export interface ChannelStatisticRequest {
  name: string;
  axis: number;
  reduction: ChannelReduction;
}

class ChannelAccumulator {
  private values: Float64Array | undefined;
  private count = 0;
  constructor(private readonly request: ChannelStatisticRequest) {}

  add(t: Tensor): void {
    const dims = t.dims;
    const axis = this.request.axis < 0 ? dims.length + this.request.axis : this.request.axis;
    if (axis < 0 || axis >= dims.length)
      throw new InvalidArgumentError(`tensor '${this.request.name}' has no axis ${this.request.axis}`, 'axis');
    const channels = dims[axis];
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const values = (this.values ??= new Float64Array(channels));
    if (values.length !== channels)
      throw new InvalidArgumentError(
        `tensor '${this.request.name}' has ${channels} channels on axis ${axis} in one sample and ${values.length} in another`,
        'calibrationData',
      );
    const data = t.data as Float32Array;
    const absMax = this.request.reduction === 'absMax';
    for (let i = 0; i < data.length; i++) {
      const c = Math.floor(i / inner) % channels;
      if (absMax) values[c] = Math.max(values[c], Math.abs(data[i]));
      else values[c] += data[i];
    }
    this.count += data.length / channels;
  }

  result(): Float64Array {
    const values = this.values ?? new Float64Array(0);
    return this.request.reduction === 'mean' ? values.map((v) => v / Math.max(1, this.count)) : values;
  }
}

/**
 * Run every sample through a copy of `model` that outputs the requested tensors, and return
 * each one's per-channel statistic (by name). The model itself is not modified.
 *
 * @example
 * ```ts
 * const stats = await channelStatistics(model, samples, backend, [{ name: 'ln_out', axis: -1, reduction: 'absMax' }]);
 * stats.get('ln_out'); // largest |x| of each of ln_out's last-axis channels over the samples
 * ```
 */
export async function channelStatistics(
  model: Model,
  data: CalibrationData,
  backend: Backend,
  requests: readonly ChannelStatisticRequest[],
): Promise<Map<string, Float64Array>> {
  const out = new Map<string, Float64Array>();
  if (!requests.length) return out;
  const names = [...new Set(requests.map((r) => r.name))];
  const session = await backend.createSession(exposeOutputs(model, names).model);
  const accumulators = requests.map((r) => new ChannelAccumulator(r));
  let samples = 0;
  try {
    for await (const sample of data as AsyncIterable<CalibrationSample>) {
      const values = await session.run(sample, { outputs: names });
      requests.forEach((r, i) => accumulators[i].add(values[r.name]));
      samples++;
    }
  } finally {
    await session.dispose();
  }
  if (!samples)
    throw new InvalidArgumentError('the calibration set is empty; pass at least one sample', 'calibrationData');
  requests.forEach((r, i) => out.set(r.name, accumulators[i].result()));
  return out;
}
