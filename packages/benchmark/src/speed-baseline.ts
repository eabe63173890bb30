/**
 * The float side of a speed check, timed on its own and kept as figures: a command that times
 * a large model before it builds the quantized one never holds the float session and the
 * quantized model in memory at once.
 */
import { InvalidArgumentError, type Backend } from '@edgeml/core';
import { compare, type ComparisonResult } from './compare.js';
import type { InputOptions } from './inputs.js';
import type { ModelSource } from './model-source.js';

/** A model's timing, as a speed check needs it. */
export interface TimedModel {
  /** Median latency of the timed runs, ms. */
  p50Ms: number;
  /** Timed runs. */
  runs: number;
  /** Input shapes fed (the profile feeds the same). */
  inputShapes: Record<string, number[]>;
}

/**
 * The float model timed ahead of a speed check (see `measureSpeedBaseline`): pass it to
 * `checkSpeedup` in place of the float model.
 */
export interface SpeedBaseline extends TimedModel {
  readonly kind: 'speed-baseline';
  /** The float model, profiled again only if the quantized one turns out slower. */
  source: ModelSource;
  /** Backend name the timing ran on; `checkSpeedup` refuses a baseline from another. */
  runtime: string;
  threads: number;
}

/** How to time one model alone. */
export interface TimingOptions {
  backend: Backend;
  /** Intra-op threads (default 1). */
  threads?: number;
  /** Length of the timed loop (default 1000 ms; at least one run). */
  durationMs?: number;
  /** Untimed runs first (default 3). */
  warmup?: number;
  /** What to feed; give the same to `checkSpeedup`. */
  inputs?: InputOptions;
}

/**
 * Time `float` alone now, for a `checkSpeedup` later: the models are then timed one after the
 * other, not interleaved, so drift between the two blocks is not cancelled.
 *
 * @example
 * ```ts
 * const baseline = await measureSpeedBaseline('model.onnx', { backend, inputs: { values: sample } });
 * const result = await quantize(model, options); // the float session is closed by now
 * const speed = await checkSpeedup(baseline, result.model, { backend, inputs: { values: sample } });
 * ```
 */
export async function measureSpeedBaseline(float: ModelSource, options: TimingOptions): Promise<SpeedBaseline> {
  const threads = options.threads ?? 1;
  return {
    kind: 'speed-baseline',
    ...(await timeAlone(float, { ...options, threads })),
    source: float,
    runtime: options.backend.name,
    threads,
  };
}

/** One model timed alone: a comparison of one is a plain timed loop. */
export async function timeAlone(model: ModelSource, options: TimingOptions): Promise<TimedModel> {
  const { results } = await compare([{ model }], {
    backend: options.backend,
    threads: options.threads ?? 1,
    durationMs: options.durationMs ?? 1000,
    warmup: options.warmup ?? 3,
    inputs: options.inputs,
    agreementSamples: 1,
  });
  return timedOf(results[0]);
}

export const timedOf = (r: ComparisonResult): TimedModel => ({
  p50Ms: r.latencyMs.p50,
  runs: r.runs,
  inputShapes: r.inputShapes,
});

export const isSpeedBaseline = (x: unknown): x is SpeedBaseline =>
  typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'speed-baseline';

/** A baseline timed on another runtime or thread count would make the ratio meaningless. */
export function checkBaselineFits(baseline: SpeedBaseline, runtime: string, threads: number): void {
  if (baseline.runtime !== runtime || baseline.threads !== threads)
    throw new InvalidArgumentError(
      `the speed baseline was timed on ${baseline.runtime} with ${baseline.threads} thread(s), but the check runs on ${runtime} with ${threads}; time the baseline with the check's backend and threads`,
      'baseline',
    );
}
