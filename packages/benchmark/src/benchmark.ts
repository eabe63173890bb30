import {
  InvalidArgumentError,
  Model,
  encodeModel,
  type Backend,
  type Session,
  type SessionOptions,
  type Tensor,
} from '@edgeml/core';
import { makeFeeds, type InputOptions } from './inputs.js';
import { modelSizeBytes, sourceLabel, type ModelSource } from './model-source.js';
import { readOrtProfile, type OpProfile } from './profile.js';
import { MemorySampler, harnessOverheadMs, openSession, processId, startCpuClock, timedRun } from './runner.js';
import { latencyStats, type LatencyStats } from './statistics.js';
import { checkTargets, type TargetCheck, type Thresholds } from './targets.js';

/** How long to run and what to feed. */
export interface BenchmarkOptions {
  /** The runtime to measure on (e.g. `new NodeBackend()` from @edgeml/runtime-node). */
  backend: Backend;
  /** Timed runs (default 100 when `durationMs` is not given). */
  runs?: number;
  /** Run for this long instead of a fixed count (at least one run). */
  durationMs?: number;
  /** Untimed runs after the first inference, to settle caches and allocators (default 10). */
  warmup?: number;
  /** Intra-op threads; shorthand for `session.intraOpThreads`. */
  threads?: number;
  /** Session options passed to the backend. */
  session?: SessionOptions;
  /** Inputs: shapes for dynamic dimensions, real values, fills, seed. */
  inputs?: InputOptions;
  /** Per-op profile from a separate profiling session after the timed runs (timing is never profiled). */
  profile?: boolean | { runs?: number; topK?: number };
  /** Target thresholds that differ from the defaults. */
  thresholds?: Partial<Thresholds>;
  /** Name shown in results (default: the path as given). */
  label?: string;
  /** Samples per batch for throughput (default: the first input's leading dimension when its rank is ≥ 2, else 1). */
  batchSize?: number;
  /** Called after every timed run with runs done and the planned total (undefined when running by duration). */
  onProgress?: (done: number, total: number | undefined) => void;
}

/** Everything measured for one model on one backend. */
export interface BenchmarkResult {
  model: string;
  backend: string;
  backendVersion?: string;
  executionProviders?: readonly string[];
  threads?: number;
  /** The .onnx file plus its external data. */
  sizeBytes: number;
  /** Session creation (load, optimise, allocate). */
  initMs: number;
  /** First inference, with whatever lazy set-up the runtime does on it. */
  firstRunMs: number;
  warmupRuns: number;
  runs: number;
  latencyMs: LatencyStats;
  /** Every timed run in order, for histograms and CDFs. */
  samplesMs: number[];
  batchSize: number;
  /** Inferences per second over the loop's wall time, counting the batch. */
  throughputPerSec: number;
  /** Peak resident set size while timing (the whole process; see `isolate` for per-model figures); 0 in browsers, which do not report it. */
  peakRssBytes: number;
  /** Peak V8 heap in use while timing; 0 in browsers. */
  peakHeapBytes: number;
  /** CPU time (user + system) per run across all threads, ms; above the latency means several cores worked. NaN in browsers. */
  cpuMsPerRun: number;
  /** The timing loop's own cost per run, ms. */
  harnessOverheadMs: number;
  /** The process that ran the timed loop (a child's with isolation); 0 in browsers. */
  pid: number;
  /** Input shapes fed. */
  inputShapes: Record<string, number[]>;
  profile?: OpProfile;
  /** Why there is no profile when one was asked for. */
  profileUnavailable?: string;
  targets: TargetCheck[];
}

/** Resolved loop settings shared by benchmark() and compare(). */
export interface LoopPlan {
  runs?: number;
  durationMs?: number;
  warmup: number;
}

export function loopPlan(options: Pick<BenchmarkOptions, 'runs' | 'durationMs' | 'warmup'>): LoopPlan {
  const { runs, durationMs, warmup = 10 } = options;
  if (runs !== undefined && durationMs !== undefined)
    throw new InvalidArgumentError('give runs or durationMs, not both', 'runs');
  if (runs !== undefined && (!Number.isInteger(runs) || runs < 1))
    throw new InvalidArgumentError(`runs must be a positive integer, got ${runs}`, 'runs');
  if (durationMs !== undefined && !(durationMs > 0))
    throw new InvalidArgumentError(`durationMs must be positive, got ${durationMs}`, 'durationMs');
  if (!Number.isInteger(warmup) || warmup < 0)
    throw new InvalidArgumentError(`warmup must be a non-negative integer, got ${warmup}`, 'warmup');
  return { runs: durationMs === undefined ? (runs ?? 100) : undefined, durationMs, warmup };
}

export function sessionOptionsOf(options: Pick<BenchmarkOptions, 'threads' | 'session'>): SessionOptions {
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 0))
    throw new InvalidArgumentError(`threads must be a non-negative integer, got ${options.threads}`, 'threads');
  return options.threads === undefined
    ? { ...options.session }
    : { ...options.session, intraOpThreads: options.threads };
}

export function batchSizeOf(feeds: Record<string, Tensor>, given: number | undefined): number {
  if (given !== undefined) return given;
  const first = Object.values(feeds)[0];
  return first && first.dims.length >= 2 ? first.dims[0] || 1 : 1;
}

/** An IR Model is encoded once, not once per session. */
export function isolatedSource(model: ModelSource): string | Uint8Array {
  return model instanceof Model ? encodeModel(model, { placeTensor: () => 'inline' }) : model;
}

export function shapesOf(feeds: Record<string, Tensor>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, [...t.dims]]));
}

/** Profile in a session of its own so the timed figures carry no profiling cost. */
export async function profileModel(
  backend: Backend,
  source: ModelSource,
  session: SessionOptions,
  feeds: Record<string, Tensor> | ((session: Session) => Record<string, Tensor>),
  spec: true | { runs?: number; topK?: number },
): Promise<{ profile?: OpProfile; profileUnavailable?: string }> {
  const { runs = 20, topK = 10 } = spec === true ? {} : spec;
  const s = await backend.createSession(source, { ...session, profiling: true });
  try {
    if (!s.endProfiling) return { profileUnavailable: `${backend.name} does not write profiles` };
    const inputs = typeof feeds === 'function' ? feeds(s) : feeds;
    for (let i = 0; i < runs; i++) await s.run(inputs);
    const file = await s.endProfiling();
    return file
      ? { profile: readOrtProfile(file, runs, topK) }
      : { profileUnavailable: `${backend.name} wrote no profile file` };
  } finally {
    await s.dispose();
  }
}

/**
 * Measure one model on one backend: size, session init, first inference, then warm-up and
 * timed runs (by count or duration) with latency percentiles, throughput, peak memory, CPU
 * time, and optionally a per-op profile. Inputs are seeded random data shaped from the model's
 * declared inputs unless real ones are given.
 *
 * @example
 * ```ts
 * import { NodeBackend } from '@edgeml/runtime-node';
 * const r = await benchmark('model.onnx', { backend: new NodeBackend(), runs: 200, threads: 1 });
 * console.log(r.latencyMs.p50, r.latencyMs.p99, r.throughputPerSec);
 * ```
 */
export async function benchmark(model: ModelSource, options: BenchmarkOptions): Promise<BenchmarkResult> {
  const plan = loopPlan(options);
  const sessionOptions = sessionOptionsOf(options);
  const label = options.label ?? sourceLabel(model);
  // A Model goes to the backend as it is (a large one file-backed, without a copy of its bytes held here).
  const sizeBytes = modelSizeBytes(model);
  const { backend } = options;
  await backend.init();
  const opened = await openSession(
    backend,
    model,
    sessionOptions,
    (s) => makeFeeds(s.inputs, options.inputs),
    label,
    options.inputs,
  );
  const { session, feeds } = opened;
  try {
    for (let i = 0; i < plan.warmup; i++) await session.run(feeds);
    const memory = new MemorySampler();
    memory.sample(true);
    const samples: number[] = [];
    const cpuMs = startCpuClock();
    const t0 = performance.now();
    for (
      let i = 0;
      plan.runs !== undefined ? i < plan.runs : performance.now() - t0 < plan.durationMs! || i === 0;
      i++
    ) {
      samples.push(await timedRun(session, feeds));
      memory.sample();
      options.onProgress?.(i + 1, plan.runs);
    }
    const wallMs = performance.now() - t0;
    const cpuUsedMs = cpuMs();
    memory.sample(true);
    const latencyMs = latencyStats(samples);
    const batchSize = batchSizeOf(feeds, options.batchSize);
    const result: BenchmarkResult = {
      model: label,
      backend: backend.name,
      backendVersion: backend.version,
      executionProviders: session.executionProviders,
      threads: sessionOptions.intraOpThreads,
      sizeBytes,
      initMs: opened.initMs,
      firstRunMs: opened.firstRunMs,
      warmupRuns: plan.warmup,
      runs: samples.length,
      latencyMs,
      samplesMs: samples,
      batchSize,
      throughputPerSec: (samples.length * batchSize * 1000) / wallMs,
      peakRssBytes: memory.peaks.rssBytes,
      peakHeapBytes: memory.peaks.heapBytes,
      cpuMsPerRun: cpuUsedMs / samples.length,
      harnessOverheadMs: await harnessOverheadMs(),
      pid: processId(),
      inputShapes: shapesOf(feeds),
      targets: checkTargets(latencyMs, sizeBytes, options.thresholds),
    };
    if (options.profile)
      Object.assign(result, await profileModel(backend, model, sessionOptions, feeds, options.profile));
    return result;
  } finally {
    await session.dispose();
  }
}
