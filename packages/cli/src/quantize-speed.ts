/**
 * `edgeml quantize`'s speed guard and `--mode auto`: the quantized model timed against the
 * float one on the target runtime (interleaved, one thread, a few seconds), its kernel time
 * profiled by op type, and a warning on stderr naming the cause when it is slower. The
 * candidates of `--mode auto` are timed the same way.
 */
import {
  checkSpeedup,
  compare,
  measureSpeedBaseline,
  type SpeedBaseline,
  type SpeedCheckResult,
} from '@edgeml/benchmark';
import { modelByteEstimate, type Backend, type Model, type Tensor } from '@edgeml/core';
import type { AutoCandidate, LatencyMeasure, QuantizeResult } from '@edgeml/quantize';
import type { CommandContext } from './command.js';
import { UsageError } from './cli-error.js';
import { numberOption } from './options.js';

/** Modes that change activations to integers, whose speed is worth checking. */
const CHECKED_MODES = new Set(['static', 'hybrid', 'auto']);

/** Timing loop of the speed check, both models together; `--mode auto` gives each candidate as long. */
const SPEED_CHECK_MS = 2000;

/**
 * Float models with this many bytes of weights or more are timed one session at a time, not
 * interleaved: two sessions of a large model would double the command's peak memory.
 */
const ONE_AT_A_TIME_BYTES = 64 * 2 ** 20;

const oneAtATime = (setup: SpeedSetup) => modelByteEstimate(setup.float) >= ONE_AT_A_TIME_BYTES;

/** What the timing needs: the float model as the user will compare it, and where to run it. */
export interface SpeedSetup {
  /** The float model (with `--fix` inputs frozen), the baseline. */
  float: Model;
  /** The runtime of `--target`. */
  target: Backend;
  /** A runtime with a profiler (onnxruntime-node), for targets without one. */
  profiler: Backend;
  /** Real inputs: the first calibration sample (else seeded random data of the model's shapes). */
  sample?: Record<string, Tensor>;
}

/** The JSON report's `speed`: the speed check, and with `--mode auto` every candidate timed. */
export interface SpeedReport extends SpeedCheckResult {
  candidates?: AutoCandidate[];
}

/** `--sqnr-margin <dB>` for `--mode auto`. */
export function sqnrMarginOption(values: CommandContext['values'], mode: string): number | undefined {
  const margin = numberOption(values, 'sqnr-margin', (x) => x >= 0, 'a number of dB ≥ 0');
  if (margin !== undefined && mode !== 'auto')
    throw new UsageError('--sqnr-margin is for --mode auto (how much SQNR a faster form may lose)', 'quantize');
  return margin;
}

/** `measure` for `quantizeAuto`: the candidates and the float model timed interleaved on the target. */
export function measureOnTarget(setup: SpeedSetup): LatencyMeasure {
  return async (models) => {
    const { results } = await compare(
      [setup.float, ...models].map((model) => ({ model })),
      {
        backend: setup.target,
        threads: 1,
        durationMs: (SPEED_CHECK_MS / 2) * (models.length + 1),
        warmup: 3,
        inputs: setup.sample ? { values: setup.sample } : undefined,
        agreementSamples: 1,
        oneAtATime: oneAtATime(setup),
      },
    );
    return results.slice(1).map((r) => r.latencyMs.p50);
  };
}

const checks = (values: CommandContext['values'], mode: string) => !values['no-speed-check'] && CHECKED_MODES.has(mode);

/**
 * A large float model's timing, taken before quantizing (undefined for small models and when
 * no check runs): its session is then closed before the quantized model is built, so the
 * command never holds both (the peak of static quantization of a large model).
 */
export async function floatTimingFirst(
  values: CommandContext['values'],
  mode: string,
  setup: SpeedSetup,
): Promise<SpeedBaseline | undefined> {
  // --mode auto times its candidates against the float model itself.
  if (!checks(values, mode) || mode === 'auto' || !oneAtATime(setup)) return undefined;
  return measureSpeedBaseline(setup.float, {
    backend: setup.target,
    threads: 1,
    durationMs: SPEED_CHECK_MS / 2,
    inputs: setup.sample ? { values: setup.sample } : undefined,
  });
}

/**
 * The speed check after a static, hybrid or auto quantization (unless `--no-speed-check`):
 * returns the report's `speed`, and warns on stderr when the model is slower than float.
 */
export async function checkQuantizedSpeed(
  values: CommandContext['values'],
  mode: string,
  setup: SpeedSetup,
  result: QuantizeResult & { candidates?: AutoCandidate[] },
  stderr: (text: string) => void,
  floatTiming?: SpeedBaseline,
): Promise<SpeedReport | undefined> {
  if (!checks(values, mode)) return undefined;
  const speed: SpeedReport = await checkSpeedup(floatTiming ?? setup.float, result.model, {
    backend: setup.target,
    profileBackend: setup.profiler,
    threads: 1,
    durationMs: SPEED_CHECK_MS,
    inputs: setup.sample ? { values: setup.sample } : undefined,
    oneAtATime: oneAtATime(setup),
  });
  if (result.candidates) speed.candidates = result.candidates;
  if (speed.speedup < 1) stderr(`edgeml quantize: warning: ${slowerWarning(speed, result.mode)}\n`);
  return speed;
}

/** The warning line's text: how much slower, on what, why, and what to try. */
export function slowerWarning(speed: SpeedCheckResult, mode: string): string {
  const tryInstead =
    mode === 'static'
      ? "; try --mode auto (times static, hybrid and dynamic forms on the target and keeps the fastest as accurate as static's), or keep the float model"
      : '; the float model is faster here';
  return (
    `the ${mode} model is slower than float on ${speed.runtime} (${speed.speedup.toFixed(2)}x, p50 ` +
    `${speed.quantizedP50Ms.toFixed(2)} ms against ${speed.floatP50Ms.toFixed(2)} ms, ${speed.threads} thread): ` +
    `${speed.reason}${tryInstead}`
  );
}

/** The text report's speed lines. */
export function speedLines(speed: SpeedReport | undefined): string[] {
  if (!speed) return [];
  const lines = [
    `speed      ${speed.speedup.toFixed(2)}x float on ${speed.runtime} (p50 ${speed.quantizedP50Ms.toFixed(2)} ms against ${speed.floatP50Ms.toFixed(2)} ms, ${speed.threads} thread, ${speed.runs} runs each${speed.interleaved ? '' : ', one model after the other'})` +
      (speed.qdqShare !== undefined ? `; Q/DQ ${(speed.qdqShare * 100).toFixed(0)} % of kernel time` : ''),
  ];
  if (speed.topOps.length)
    lines.push(
      `profile    ${speed.topOps
        .slice(0, 5)
        .map((o) => `${o.opType} ${(o.share * 100).toFixed(0)} %`)
        .join(', ')}${speed.profiledOn && speed.profiledOn !== speed.runtime ? ` (on ${speed.profiledOn})` : ''}`,
    );
  if (speed.reason) lines.push(`why        ${speed.reason}`);
  for (const c of speed.candidates ?? [])
    lines.push(
      `candidate  ${c.chosen ? '*' : ' '} ${c.mode.padEnd(8)} ${c.p50Ms === undefined ? '     —   ' : `${c.p50Ms.toFixed(2).padStart(7)} ms`}  ${c.sqnrDb === undefined ? '' : `SQNR ${c.sqnrDb.toFixed(1)} dB`}${c.note ? `  (${c.note})` : ''}`,
    );
  return lines;
}
