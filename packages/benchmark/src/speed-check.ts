/**
 * Is a quantized model faster than its float original on the runtime that will serve it, and
 * if not, why? Measured side by side (interleaved, one thread by default) and explained from a
 * kernel profile: the share of kernel time spent converting between float and integer
 * (QuantizeLinear, DequantizeLinear), the ops that ran in float between them, and how much of
 * a run is outside kernels at all (per-node overhead).
 */
import type { Backend, Session, SessionOptions } from '@edgeml/core';
import { profileModel } from './benchmark.js';
import { compare } from './compare.js';
import { makeFeeds, type InputOptions } from './inputs.js';
import type { ModelSource } from './model-source.js';
import type { OpProfile } from './profile.js';
import {
  checkBaselineFits,
  isSpeedBaseline,
  timeAlone,
  timedOf,
  type SpeedBaseline,
  type TimedModel,
} from './speed-baseline.js';

/** Op types that only convert between float and integer (their time is the price of the placement). */
export const QDQ_OP_TYPES: readonly string[] = ['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear'];

/** Kernels that compute in integers, as onnxruntime names them after fusing QDQ groups. */
const INTEGER_KERNEL =
  /^(QLinear|QGemm|QAttention|NhwcQLinear|MatMulInteger|ConvInteger|MatMulIntegerToFloat|DynamicQuantize(MatMul|LSTM)|MatMulNBits|QEmbed|QOrdered)/;

/** Ops that move or reshape data (on float or integer alike), neither computing nor converting. */
const LAYOUT_OPS = new Set([
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Concat',
  'Split',
  'Slice',
  'Gather',
  'Shape',
  'Identity',
  'Expand',
  'Pad',
  'MaxPool',
  'NhwcMaxPool',
  'Cast',
  'ConstantOfShape',
  'Tile',
  'Resize',
]);

/**
 * Share (0–1) of profiled kernel time spent in QuantizeLinear, DequantizeLinear and
 * DynamicQuantizeLinear. A well-placed static model spends little there; one whose Q/DQ pairs
 * wrap ops that run in float anyway spends a lot.
 *
 * @example
 * ```ts
 * const r = await benchmark('model.int8.onnx', { backend: new NodeBackend(), profile: true });
 * console.log(`${(qdqShare(r.profile!) * 100).toFixed(0)} % of kernel time in Q/DQ`);
 * ```
 */
export function qdqShare(profile: OpProfile): number {
  return profile.byOpType.filter((t) => QDQ_OP_TYPES.includes(t.opType)).reduce((s, t) => s + t.share, 0);
}

/** An op type's share of kernel time, and how many of its nodes run per inference. */
export interface OpShare {
  opType: string;
  /** Share of kernel time, 0–1. */
  share: number;
  /** Kernel time per inference, ms. */
  msPerRun: number;
  /** Nodes of this type per inference. */
  nodes: number;
  /** What it computes in: `integer`, `float`, `convert` (Q/DQ) or `layout` (data movement). */
  kind: 'integer' | 'float' | 'convert' | 'layout';
}

/** What kind of kernel an op type is (see `OpShare.kind`). */
export function kernelKind(opType: string): OpShare['kind'] {
  if (QDQ_OP_TYPES.includes(opType)) return 'convert';
  if (INTEGER_KERNEL.test(opType)) return 'integer';
  return LAYOUT_OPS.has(opType) ? 'layout' : 'float';
}

/** The profile's op types with their kind, slowest first. */
export function opShares(profile: OpProfile): OpShare[] {
  const runs = profile.runs || 1;
  return profile.byOpType.map((t) => ({
    opType: t.opType,
    share: t.share,
    msPerRun: t.totalUs / runs / 1000,
    nodes: Math.round(t.calls / runs),
    kind: kernelKind(t.opType),
  }));
}

/** How to run a speed check. */
export interface SpeedCheckOptions {
  /** The runtime that will serve the model. */
  backend: Backend;
  /** Where to profile when `backend` has no profiler (onnxruntime-web has none): e.g. a NodeBackend. */
  profileBackend?: Backend;
  /** Intra-op threads for both models (default 1: stable on a shared machine, and what edge devices give a model). */
  threads?: number;
  /** Length of the interleaved timing loop, both models together (default 2000 ms; at least one run each). */
  durationMs?: number;
  /** Untimed runs of each model first (default 3). */
  warmup?: number;
  /** Profiled runs of the quantized model (default 10). */
  profileRuns?: number;
  /** What to feed: real samples (`values`) or shapes for dynamic dimensions. */
  inputs?: InputOptions;
  /**
   * Time the two models one after the other, holding one session at a time, instead of
   * interleaved (see `CompareOptions.oneAtATime`): for models too large to hold twice.
   */
  oneAtATime?: boolean;
}

/** Float against quantized speed, and what the profile says about it. */
export interface SpeedCheckResult {
  /** Backend name of the timing, e.g. `onnxruntime-node`. */
  runtime: string;
  threads: number;
  /** Timed runs of each model. */
  runs: number;
  /** False when the models were timed one after the other (`oneAtATime`), not run by run. */
  interleaved: boolean;
  floatP50Ms: number;
  quantizedP50Ms: number;
  /** Float p50 ÷ quantized p50: below 1 the quantized model is slower. */
  speedup: number;
  /** Share of the quantized model's kernel time in Q/DQ conversions (see `qdqShare`), when profiled. */
  qdqShare?: number;
  /** The quantized model's kernel time per run, ms (on `profiledOn`, with the profiler's own cost in it). */
  kernelMsPerRun?: number;
  /** Kernels the quantized model runs per inference (nodes after the runtime's fusions). */
  kernelsPerRun?: number;
  /** When the quantized model is slower: the float model's kernel time per run, ms, profiled the same way (on `profiledOn`). */
  floatKernelMsPerRun?: number;
  /** When the quantized model is slower: the float model's slowest op types (at most 8), to set integer kernels against the float ones they replace. */
  floatTopOps?: OpShare[];
  /** Backend the profile came from (differs from `runtime` when that has no profiler). */
  profiledOn?: string;
  /** The slowest op types of the quantized model's profile (at most 8). */
  topOps: OpShare[];
  /** Why there is no profile. */
  profileUnavailable?: string;
  /** When `speedup` < 1: the cause, as the profile shows it. */
  reason?: string;
}

/**
 * Time `float` and `quantized` interleaved on `options.backend`, profile the quantized one,
 * and say why when it is not faster (see `explainSlowdown`). `float` may be a
 * `SpeedBaseline` timed earlier (`measureSpeedBaseline`): only the quantized model is timed
 * then, and the float session need not be held while the quantized model exists.
 *
 * @example
 * ```ts
 * const speed = await checkSpeedup('model.onnx', result.model, { backend: new NodeBackend(), inputs: { values: sample } });
 * if (speed.speedup < 1) console.error(`slower than float: ${speed.reason}`);
 * ```
 */
export async function checkSpeedup(
  float: ModelSource | SpeedBaseline,
  quantized: ModelSource,
  options: SpeedCheckOptions,
): Promise<SpeedCheckResult> {
  const threads = options.threads ?? 1;
  const durationMs = options.durationMs ?? 2000;
  const timing = { backend: options.backend, threads, warmup: options.warmup ?? 3, inputs: options.inputs };
  let f: TimedModel, q: TimedModel, interleaved: boolean, floatSource: ModelSource;
  if (isSpeedBaseline(float)) {
    checkBaselineFits(float, options.backend.name, threads);
    [f, q, interleaved] = [float, await timeAlone(quantized, { ...timing, durationMs: durationMs / 2 }), false];
    floatSource = float.source;
  } else {
    const compared = await compare([{ model: float }, { model: quantized }], {
      ...timing,
      // The same time for each model whichever way they are timed.
      durationMs: options.oneAtATime ? durationMs / 2 : durationMs,
      oneAtATime: options.oneAtATime,
      agreementSamples: 1,
    });
    [f, q, interleaved] = [timedOf(compared.results[0]), timedOf(compared.results[1]), compared.interleaved];
    floatSource = float;
  }
  const result: SpeedCheckResult = {
    runtime: options.backend.name,
    threads,
    runs: Math.min(f.runs, q.runs),
    interleaved,
    floatP50Ms: f.p50Ms,
    quantizedP50Ms: q.p50Ms,
    speedup: f.p50Ms / q.p50Ms,
    topOps: [],
  };
  const session = { intraOpThreads: threads };
  const profiled = await profileOn(quantized, session, options, q.inputShapes);
  if (profiled.profile) {
    result.qdqShare = qdqShare(profiled.profile);
    result.kernelMsPerRun = profiled.profile.kernelUsPerRun / 1000;
    result.profiledOn = profiled.backend!.name;
    const shares = opShares(profiled.profile);
    result.kernelsPerRun = shares.reduce((n, o) => n + o.nodes, 0);
    result.topOps = shares.slice(0, 8);
    // Only a slower model needs the float profile (which kernels got slower, is it the runtime);
    // skipping it otherwise spares a third session of the float model, the largest.
    const float =
      result.speedup < 1
        ? await profileOn(floatSource, session, { ...options, backend: profiled.backend! }, f.inputShapes)
        : {};
    if (float.profile) {
      result.floatKernelMsPerRun = float.profile.kernelUsPerRun / 1000;
      result.floatTopOps = opShares(float.profile).slice(0, 8);
    }
  } else result.profileUnavailable = profiled.profileUnavailable;
  if (result.speedup < 1) result.reason = explainSlowdown(result);
  return result;
}

/** Profile on the target when it can, else on `profileBackend`. */
async function profileOn(
  source: ModelSource,
  session: SessionOptions,
  options: SpeedCheckOptions,
  shapes: Record<string, number[]>,
): Promise<{ profile?: OpProfile; profileUnavailable?: string; backend?: Backend }> {
  const tried: string[] = [];
  // The timed inputs again: given values, else seeded data of the shapes the timing used.
  const feeds = (s: Session) =>
    makeFeeds(s.inputs, { ...options.inputs, shapes: { ...shapes, ...options.inputs?.shapes } });
  for (const backend of [options.backend, options.profileBackend]) {
    if (!backend) continue;
    await backend.init();
    const r = await profileModel(backend, source, session, feeds, { runs: options.profileRuns ?? 10, topK: 8 });
    if (r.profile) return { profile: r.profile, backend };
    tried.push(r.profileUnavailable ?? `${backend.name} gave no profile`);
  }
  return { profileUnavailable: tried.join('; ') || 'no backend with a profiler' };
}

/** The integer op an onnxruntime kernel stands for, to find the float kernel it replaced. */
const floatCounterpart = (opType: string) =>
  opType
    .replace(/^(NhwcQLinear|QLinear)/, '')
    .replace(/^QGemm$/, 'Gemm')
    .replace(/^(MatMulInteger|MatMulIntegerToFloat|DynamicQuantizeMatMul)$/, 'MatMul')
    .replace(/^ConvInteger$/, 'Conv');

/**
 * Integer kernels against the float kernels they replace, both profiled on `profiledOn`: when
 * they are faster there but the target runs the model slower, the target's integer kernels are
 * the cause; when they are slower there too, which ones.
 */
function kernelComparison(speed: SpeedCheckResult): [weight: number, text: string] | undefined {
  const [quantMs, floatMs] = [speed.kernelMsPerRun, speed.floatKernelMsPerRun];
  if (quantMs === undefined || floatMs === undefined || !speed.floatTopOps) return undefined;
  const ratio = floatMs / quantMs;
  if (speed.profiledOn !== speed.runtime && ratio > 1.1)
    return [
      2,
      `${speed.runtime}'s integer kernels are the cause: on ${speed.profiledOn} the same int8 kernels take ${ratio.toFixed(2)}x less time than the float ones`,
    ];
  if (ratio >= 1) return undefined;
  const floatMsOf = new Map(speed.floatTopOps.map((o) => [o.opType, o.msPerRun]));
  const slower = speed.topOps
    .filter((o) => o.kind === 'integer' && (floatMsOf.get(floatCounterpart(o.opType)) ?? Infinity) < o.msPerRun)
    .slice(0, 3)
    .map(
      (o) =>
        `${o.opType} ${o.msPerRun.toFixed(2)} ms against ${floatCounterpart(o.opType)} ${floatMsOf.get(floatCounterpart(o.opType))!.toFixed(2)} ms`,
    );
  return [
    1.5,
    `the int8 kernels take longer than the float ones (${quantMs.toFixed(2)} against ${floatMs.toFixed(2)} ms per run${slower.length ? `: ${slower.join(', ')}` : ''}); layers this small gain nothing from 8-bit arithmetic`,
  ];
}

/** Wall time per kernel under which a run is mostly dispatch, not arithmetic (µs; onnxruntime's per-node cost is a few µs). */
const OVERHEAD_BOUND_US = 15;

const pct = (x: number) => `${(x * 100).toFixed(0)} %`;

/**
 * Why a quantized model is not faster, from its speed check: its kernels are so short that
 * per-node dispatch weighs as much as their arithmetic (overhead-bound), or conversions take a large
 * share of kernel time around ops that run in float anyway (no integer kernel for them), or
 * little kernel time is in integer kernels at all. Causes are listed largest first.
 *
 * @example
 * ```ts
 * explainSlowdown(speed); // 'QuantizeLinear+DequantizeLinear are 39 % of kernel time, around the ops that ran in float: Mul ×63, HardSigmoid ×30'
 * ```
 */
export function explainSlowdown(speed: SpeedCheckResult): string {
  if (!speed.topOps.length)
    return `no profile to say why (${speed.profileUnavailable ?? 'not profiled'}); the quantized model took ${speed.quantizedP50Ms.toFixed(2)} ms against ${speed.floatP50Ms.toFixed(2)} ms`;
  const causes: [weight: number, text: string][] = [];
  // Profiled kernel times carry the profiler's own cost, so overhead is judged from the wall
  // clock per kernel: at a few µs each, dispatch costs about what the arithmetic does.
  const perKernelUs = speed.kernelsPerRun ? (speed.quantizedP50Ms * 1000) / speed.kernelsPerRun : Infinity;
  if (perKernelUs < OVERHEAD_BOUND_US)
    causes.push([
      1,
      `overhead-bound: a ${speed.floatP50Ms.toFixed(2)} ms model; the quantized one runs ${speed.kernelsPerRun} kernels in ${speed.quantizedP50Ms.toFixed(2)} ms, ${perKernelUs.toFixed(0)} µs each, so per-node dispatch weighs as much as the arithmetic int8 shortens`,
    ]);
  const qdq = speed.qdqShare ?? 0;
  const floatOps = speed.topOps.filter((o) => o.kind === 'float' && o.share >= 0.02);
  if (qdq >= 0.1)
    causes.push([
      // Conversions are the cost placement controls: named first when they are a large share.
      qdq + 0.5,
      `QuantizeLinear+DequantizeLinear are ${pct(qdq)} of kernel time` +
        (floatOps.length
          ? `, around ops that ran in float (no integer kernel): ${floatOps.map((o) => `${o.opType} ×${o.nodes}`).join(', ')}`
          : ''),
    ]);
  const integer = speed.topOps.filter((o) => o.kind === 'integer').reduce((s, o) => s + o.share, 0);
  if (integer < 0.3) causes.push([1 - integer, `only ${pct(integer)} of kernel time is in integer kernels`]);
  const kernels = kernelComparison(speed);
  if (kernels) causes.push(kernels);
  const where = speed.profiledOn && speed.profiledOn !== speed.runtime ? ` (profiled on ${speed.profiledOn})` : '';
  if (!causes.length)
    return `no single cause in the profile${where}: ${speed.topOps
      .slice(0, 4)
      .map((o) => `${o.opType} ${pct(o.share)}`)
      .join(', ')}`;
  return (
    causes
      .sort((a, b) => b[0] - a[0])
      .map(([, text]) => text)
      .join('; ') + where
  );
}
