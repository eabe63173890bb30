/**
 * Choose the int8 form by measurement: all-static, static convolutions with dynamic MatMuls
 * (hybrid), or all-dynamic, each built and timed side by side on the runtime that will serve
 * the model, and the fastest kept among those as accurate as the static one (within a margin).
 * Which form wins depends on the runtime, not only on the model: measured on PP-OCRv4's
 * recognizer, static and hybrid run 2.1x faster than float on onnxruntime-node while on
 * onnxruntime-web's wasm only dynamic beats float (1.1x; docs/benchmarks.md). The timing is passed in (`measure`), as the backend is: this package
 * runs nothing of its own; @edgeml/benchmark's `compare` is one way to write it.
 */
import { InvalidArgumentError, NotApplicableError, type Model } from '@edgeml/core';
import type { HybridQuantizeOptions } from './hybrid.js';
import { quantize, type QuantizeCommonOptions, type QuantizeOptions, type QuantizeResult } from './quantize.js';

/** The forms `quantizeAuto` can build. */
export type AutoCandidateMode = 'static' | 'hybrid' | 'dynamic';

/**
 * p50 latency in ms of each model, in order, on the target runtime. Time them interleaved
 * (A B C A B C …) on the same inputs so drift hits all alike.
 */
export type LatencyMeasure = (models: readonly Model[]) => Promise<number[]>;

/** Options of `quantizeAuto`: the static mode's, plus the timing and the choice. */
export interface AutoQuantizeOptions extends HybridQuantizeOptions, Omit<QuantizeCommonOptions, 'backend'> {
  /** Times the candidates on the target runtime. */
  measure: LatencyMeasure;
  /** Forms to try (default static, hybrid, dynamic). */
  candidates?: readonly AutoCandidateMode[];
  /** How many dB of output SQNR below the static form's a faster candidate may lose (default 1). */
  sqnrMarginDb?: number;
}

/** One form tried, with what it measured. */
export interface AutoCandidate {
  mode: AutoCandidateMode;
  /** p50 on the target, ms (absent when it could not be built or loaded). */
  p50Ms?: number;
  /** Lowest output SQNR on the evaluation samples. */
  sqnrDb?: number;
  sizeAfter?: number;
  chosen: boolean;
  /** Why it was not built, or not eligible. */
  note?: string;
}

/** The chosen form's result (its `mode` is the form's), with every candidate measured. */
export interface AutoQuantizeResult extends QuantizeResult {
  candidates: AutoCandidate[];
}

const DEFAULT_CANDIDATES: readonly AutoCandidateMode[] = ['static', 'hybrid', 'dynamic'];

/**
 * One candidate's quantize() options. The hybrid form reuses the static form's calibrated ranges
 * (the same tensors of the same prepared model), so it calibrates only what static did not.
 */
function candidateOptions(
  mode: AutoCandidateMode,
  options: AutoQuantizeOptions,
  staticRanges: QuantizeResult['ranges'],
): QuantizeOptions {
  const rest: Partial<AutoQuantizeOptions> = { ...options };
  for (const key of ['measure', 'candidates', 'sqnrMarginDb', 'accuracyBudget'] as const) delete rest[key];
  const evaluationData = options.evaluationData ?? options.calibrationData;
  if (mode === 'dynamic')
    return {
      mode,
      specialize: rest.specialize,
      preprocess: rest.preprocess,
      backend: rest.backend,
      target: rest.target,
      exclude: rest.exclude,
      evaluationData,
    };
  // The accuracy budget (falling back to float) is the static mode's own.
  return {
    ...rest,
    mode,
    evaluationData,
    ...(mode === 'static' ? { accuracyBudget: options.accuracyBudget } : {}),
    ...(mode === 'hybrid' && staticRanges ? { rangeOverrides: { ...staticRanges, ...options.rangeOverrides } } : {}),
  };
}

/**
 * Build each candidate form, time them on the target with `options.measure`, and return the
 * fastest whose output SQNR is within `sqnrMarginDb` of the static form's (of the best one's,
 * when static does not apply). Candidates that do not apply or do not load on the target are
 * reported with the reason and not timed.
 *
 * @example
 * ```ts
 * import { compare } from '@edgeml/benchmark';
 * const target = new WebBackend();
 * const measure = async (models) =>
 *   (await compare(models.map((model) => ({ model })), { backend: target, threads: 1, durationMs: 3000 })).results.map(
 *     (r) => r.latencyMs.p50,
 *   );
 * const r = await quantizeAuto(model, { calibrationData: samples, backend: new NodeBackend(), target, measure });
 * console.log(r.mode, r.candidates); // e.g. 'dynamic', with each form's p50 and SQNR
 * ```
 */
export async function quantizeAuto(model: Model, options: AutoQuantizeOptions): Promise<AutoQuantizeResult> {
  if (typeof options.measure !== 'function')
    throw new InvalidArgumentError('mode auto times its candidates: pass measure(models) => p50 ms each', 'measure');
  const modes = options.candidates ?? DEFAULT_CANDIDATES;
  const bad = modes.filter((m) => !DEFAULT_CANDIDATES.includes(m));
  if (!modes.length || bad.length)
    throw new InvalidArgumentError(
      `candidates take ${DEFAULT_CANDIDATES.join(', ')}; got ${bad.length ? bad.join(', ') : 'none'}`,
      'candidates',
    );
  const margin = options.sqnrMarginDb ?? 1;
  if (!(margin >= 0)) throw new InvalidArgumentError(`sqnrMarginDb must be ≥ 0, got ${margin}`, 'sqnrMarginDb');
  const built: { candidate: AutoCandidate; result: QuantizeResult }[] = [];
  const candidates: AutoCandidate[] = [];
  let staticRanges: QuantizeResult['ranges'];
  for (const mode of modes) {
    const candidate: AutoCandidate = { mode, chosen: false };
    candidates.push(candidate);
    try {
      const result = await quantize(model, candidateOptions(mode, options, staticRanges));
      if (mode === 'static') staticRanges = result.ranges;
      Object.assign(candidate, { sqnrDb: result.sqnrDb, sizeAfter: result.sizeAfter });
      if (result.target && !result.target.loads) candidate.note = `does not load in ${result.target.runtime}`;
      else built.push({ candidate, result });
    } catch (e) {
      if (!(e instanceof NotApplicableError)) throw e;
      candidate.note = e.message;
    }
  }
  if (!built.length)
    throw new NotApplicableError(
      `no candidate form applies: ${candidates.map((c) => `${c.mode}: ${c.note}`).join('; ')}`,
      'quantize auto',
    );
  const times = await options.measure(built.map((b) => b.result.model));
  built.forEach((b, i) => (b.candidate.p50Ms = times[i]));
  return { ...choose(built, margin), candidates };
}

/** The fastest candidate within `margin` dB of the reference SQNR (static's, else the best). */
function choose(built: { candidate: AutoCandidate; result: QuantizeResult }[], margin: number): QuantizeResult {
  const reference =
    built.find((b) => b.candidate.mode === 'static')?.candidate.sqnrDb ??
    Math.max(...built.map((b) => b.candidate.sqnrDb ?? -Infinity));
  const label = built.some((b) => b.candidate.mode === 'static') ? "static's" : 'the best';
  const eligible = built.filter((b) => {
    const sqnr = b.candidate.sqnrDb;
    const ok = sqnr === undefined || !Number.isFinite(reference) || sqnr >= reference - margin;
    if (!ok)
      b.candidate.note = `output SQNR ${sqnr.toFixed(1)} dB is more than ${margin} dB under ${label} ${reference.toFixed(1)} dB`;
    return ok;
  });
  const best = (eligible.length ? eligible : built).reduce((a, b) => (b.candidate.p50Ms! < a.candidate.p50Ms! ? b : a));
  best.candidate.chosen = true;
  return best.result;
}
