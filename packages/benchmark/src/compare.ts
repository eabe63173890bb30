import {
  InvalidArgumentError,
  measureFidelity,
  type Backend,
  type Fidelity,
  type Session,
  type SessionOptions,
  type Tensor,
} from '@edgeml/core';
import {
  batchSizeOf,
  loopPlan,
  profileModel,
  sessionOptionsOf,
  isolatedSource,
  shapesOf,
  type BenchmarkOptions,
  type BenchmarkResult,
} from './benchmark.js';
import { makeFeeds } from './inputs.js';
import { benchmarkIsolated, type IsolationOptions } from './isolate.js';
import { matchIo, type IoMatch } from './io-match.js';
import { modelSizeBytes, sourceLabel, type ModelSource } from './model-source.js';
import {
  MemorySampler,
  harnessOverheadMs,
  openSession,
  processId,
  startCpuClock,
  timedRun,
  type OpenedSession,
} from './runner.js';
import { latencyStats } from './statistics.js';
import { checkTargets } from './targets.js';

/** One model (on one backend) in a comparison. */
export interface Candidate {
  model: ModelSource;
  /** Name in the results (default: the path as given). */
  label?: string;
  /** Backend for this candidate (default: the comparison's). */
  backend?: Backend;
  /** Session options for this candidate, on top of the comparison's. */
  session?: SessionOptions;
  /** How an isolated child builds this candidate's backend (default: the comparison's `isolate`). */
  isolation?: IsolationOptions;
}

/** Options of a comparison: those of a single benchmark, applied to every candidate. */
export interface CompareOptions extends Omit<BenchmarkOptions, 'label' | 'backend' | 'onProgress'> {
  /** Default backend for candidates that name none. */
  backend?: Backend;
  /** Index of the baseline among the candidates (default 0). */
  baseline?: number;
  /** Input sets on which outputs are compared with the baseline's (default 8; 1 when every input is given). */
  agreementSamples?: number;
  /** Run each candidate alone in its own child process, so memory figures do not mix (no interleaving then). */
  isolate?: IsolationOptions;
  /**
   * Open, time and close the candidates one after another in this process, so that only one
   * session is held at a time: for models too large to hold two of in memory. Drift between
   * the candidates' blocks is then not cancelled as interleaving cancels it (`interleaved` is
   * false in the result); each candidate's memory figures are its own.
   */
  oneAtATime?: boolean;
  /** Called after every timed run: which candidate ran, and how long it took. */
  onRun?: (candidate: number, ms: number) => void;
}

/** A candidate's figures plus how it stands against the baseline. */
export interface ComparisonResult extends BenchmarkResult {
  isBaseline: boolean;
  /** Baseline p50 ÷ this p50: 2 means twice as fast. */
  speedup: number;
  /** Baseline size ÷ this size: 4 means four times smaller. */
  sizeRatio: number;
  /** Output agreement with the baseline on the same inputs (absent for the baseline itself). */
  agreement?: Fidelity[];
  /**
   * Baseline name → this candidate's name, for inputs and outputs matched by position because
   * their names differ (see {@link matchIo}); absent when every name agrees.
   */
  ioByPosition?: IoMatch['byPosition'];
}

export interface CompareResult {
  results: ComparisonResult[];
  /** True when candidates ran interleaved in one process (memory figures are then the process's, shared). */
  interleaved: boolean;
}

async function outputsOn(
  session: Session,
  feedSets: Record<string, Tensor>[],
  match?: IoMatch,
): Promise<Record<string, Tensor>[]> {
  const out: Record<string, Tensor>[] = [];
  for (const f of feedSets) {
    const outputs = await session.run(match ? match.feeds(f) : f);
    out.push(match ? match.outputs(outputs) : outputs);
  }
  return out;
}

function setupsOf(candidates: readonly Candidate[], options: CompareOptions): Setup[] {
  const common = sessionOptionsOf(options);
  return candidates.map((c, i) => {
    const backend = c.backend ?? options.backend;
    if (!backend)
      throw new InvalidArgumentError(
        `candidate ${i} (${sourceLabel(c.model)}) has no backend and the comparison gives none`,
        'backend',
      );
    return {
      backend,
      isolation: c.isolation,
      label: c.label ?? sourceLabel(c.model),
      // A Model goes to the backend as it is (a large one file-backed, without a copy of its bytes held here).
      source: c.model,
      sessionOptions: { ...common, ...c.session },
      sizeBytes: modelSizeBytes(c.model),
    };
  });
}

/** The timing inputs first, then further seeded sets for agreement (one set when the inputs are given). */
function feedSetsFor(
  session: Session,
  first: Record<string, Tensor>,
  options: CompareOptions,
): Record<string, Tensor>[] {
  const inputsGiven = session.inputs.every((i) => options.inputs?.values?.[i.name]);
  const sets = inputsGiven ? 1 : (options.agreementSamples ?? 8);
  return [
    first,
    ...Array.from({ length: sets - 1 }, (_, k) =>
      makeFeeds(session.inputs, { ...options.inputs, seed: (options.inputs?.seed ?? 1) + k + 1 }),
    ),
  ];
}

/** Each candidate measured alone in its own child process, one after another. */
async function measureIsolated(
  setups: readonly Setup[],
  feeds: readonly Record<string, Tensor>[],
  options: CompareOptions & { isolate: NonNullable<CompareOptions['isolate']> },
): Promise<BenchmarkResult[]> {
  const measured: BenchmarkResult[] = [];
  for (const [i, s] of setups.entries())
    measured.push(
      await benchmarkIsolated(
        isolatedSource(s.source),
        {
          ...options,
          backend: s.backend,
          session: s.sessionOptions,
          threads: undefined,
          label: s.label,
          // Every input is given (under this candidate's names), so the shapes and fills keyed by the baseline's names are not needed.
          inputs: { values: { ...feeds[i] } },
        },
        s.isolation ?? options.isolate,
        i,
      ),
    );
  return measured;
}

/**
 * Benchmark several models (or one model on several backends) in one run, interleaved run by
 * run (A B A B …) so thermal and background drift hits all alike, with speed-up and size
 * ratio against a baseline and output agreement on the same inputs.
 *
 * @example
 * ```ts
 * const { results } = await compare([{ model: 'model.onnx' }, { model: 'model.int8.onnx' }], { backend: new NodeBackend(), runs: 200 });
 * console.log(results[1].speedup, results[1].sizeRatio, results[1].agreement);
 * ```
 */
export async function compare(candidates: readonly Candidate[], options: CompareOptions): Promise<CompareResult> {
  if (candidates.length === 0) throw new InvalidArgumentError('compare needs at least one candidate', 'candidates');
  const baselineIndex = options.baseline ?? 0;
  if (!Number.isInteger(baselineIndex) || baselineIndex < 0 || baselineIndex >= candidates.length)
    throw new InvalidArgumentError(
      `baseline must index one of the ${candidates.length} candidates, got ${baselineIndex}`,
      'baseline',
    );
  const plan = loopPlan(options);
  const setups = setupsOf(candidates, options);
  for (const s of new Set(setups.map((s) => s.backend))) await s.init();

  // Every candidate sees the baseline's inputs (under its own input names); agreement adds further seeded sets.
  let feeds: Record<string, Tensor> | undefined;
  const matches: (IoMatch | undefined)[] = [];
  const opened: OpenedSession[] = [];
  // The baseline's declared inputs and outputs outlive its session when candidates run one at a time.
  let baselineIo: Pick<Session, 'inputs' | 'outputs'> | undefined;
  const open = (i: number) =>
    openSession(
      setups[i].backend,
      setups[i].source,
      setups[i].sessionOptions,
      (session) => {
        if (i === baselineIndex) {
          baselineIo = { inputs: session.inputs, outputs: session.outputs };
          return (feeds = makeFeeds(session.inputs, options.inputs));
        }
        matches[i] = matchIo(baselineIo!, session, setups[i].label);
        return matches[i].feeds(feeds!);
      },
      setups[i].label,
      options.inputs,
    );
  const results = (measured: BenchmarkResult[], agreements: (Fidelity[] | undefined)[]): CompareResult => {
    const b = measured[baselineIndex];
    return {
      interleaved: !options.isolate && !options.oneAtATime,
      results: measured.map((m, i) => ({
        ...m,
        isBaseline: i === baselineIndex,
        speedup: b.latencyMs.p50 / m.latencyMs.p50,
        sizeRatio: b.sizeBytes / m.sizeBytes,
        ...(agreements[i] ? { agreement: agreements[i] } : {}),
        ...(matches[i]?.byPosition ? { ioByPosition: matches[i].byPosition } : {}),
      })),
    };
  };
  try {
    opened[baselineIndex] = await open(baselineIndex);
    const feedSets = feedSetsFor(opened[baselineIndex].session, feeds!, options);
    if (options.oneAtATime)
      return results(...(await oneAtATime(setups, opened, open, feedSets, matches, plan, options)));
    for (let i = 0; i < setups.length; i++) if (i !== baselineIndex) opened[i] = await open(i);
    const reference = await outputsOn(opened[baselineIndex].session, feedSets);
    // One candidate at a time: onnxruntime-web's wasm runtime refuses overlapping runs ("Session already started").
    const agreements: (Fidelity[] | undefined)[] = [];
    for (const [i, o] of opened.entries())
      agreements.push(
        i === baselineIndex ? undefined : measureFidelity(reference, await outputsOn(o.session, feedSets, matches[i])),
      );
    const candidateFeeds = opened.map((o) => o.feeds);
    let measured: BenchmarkResult[];
    if (options.isolate) {
      for (const o of opened.splice(0)) await o.session.dispose();
      measured = await measureIsolated(setups, candidateFeeds, { ...options, isolate: options.isolate });
    } else measured = await interleave(setups, opened, plan, options);
    return results(measured, agreements);
  } finally {
    for (const o of opened) await o?.session.dispose();
  }
}

/**
 * The baseline (open in `opened`) then each other candidate, each opened, checked against the
 * baseline's outputs, timed alone and closed before the next is opened.
 */
async function oneAtATime(
  setups: Setup[],
  opened: OpenedSession[],
  open: (i: number) => Promise<OpenedSession>,
  feedSets: Record<string, Tensor>[],
  matches: (IoMatch | undefined)[],
  plan: ReturnType<typeof loopPlan>,
  options: CompareOptions,
): Promise<[BenchmarkResult[], (Fidelity[] | undefined)[]]> {
  const baselineIndex = options.baseline ?? 0;
  const reference = await outputsOn(opened[baselineIndex].session, feedSets);
  const measured: BenchmarkResult[] = [];
  const agreements: (Fidelity[] | undefined)[] = [];
  for (const i of [baselineIndex, ...setups.keys()].filter((k, n) => n === 0 || k !== baselineIndex)) {
    const o = i === baselineIndex ? opened[baselineIndex] : await open(i);
    // This loop closes each session itself; compare's cleanup must not close one twice.
    opened.length = 0;
    try {
      if (i !== baselineIndex)
        agreements[i] = measureFidelity(reference, await outputsOn(o.session, feedSets, matches[i]));
      // A comparison of one: the interleaved loop over a single session is a plain timed loop.
      const onRun = (_: number, ms: number) => options.onRun?.(i, ms);
      measured[i] = (await interleave([setups[i]], [o], plan, { ...options, onRun }))[0];
    } finally {
      await o.session.dispose();
    }
  }
  return [measured, agreements];
}

type Setup = {
  backend: Backend;
  isolation?: IsolationOptions;
  label: string;
  source: ModelSource;
  sessionOptions: SessionOptions;
  sizeBytes: number;
};

async function interleave(
  setups: Setup[],
  opened: OpenedSession[],
  plan: ReturnType<typeof loopPlan>,
  options: CompareOptions,
): Promise<BenchmarkResult[]> {
  for (let w = 0; w < plan.warmup; w++) for (const o of opened) await o.session.run(o.feeds);
  const samples = setups.map(() => [] as number[]);
  const wall = setups.map(() => 0);
  const memory = new MemorySampler();
  memory.sample(true);
  const cpuMs = startCpuClock();
  const t0 = performance.now();
  for (
    let round = 0;
    plan.runs !== undefined ? round < plan.runs : performance.now() - t0 < plan.durationMs! || round === 0;
    round++
  ) {
    for (let i = 0; i < opened.length; i++) {
      const ms = await timedRun(opened[i].session, opened[i].feeds);
      samples[i].push(ms);
      wall[i] += ms;
      options.onRun?.(i, ms);
    }
    memory.sample();
  }
  const cpuUsedMs = cpuMs();
  const totalRunMs = wall.reduce((a, b) => a + b, 0);
  const overhead = await harnessOverheadMs();
  const batchSize = batchSizeOf(opened[0].feeds, options.batchSize);
  const results: BenchmarkResult[] = [];
  for (const [i, s] of setups.entries()) {
    const latencyMs = latencyStats(samples[i]);
    const r: BenchmarkResult = {
      model: s.label,
      backend: s.backend.name,
      backendVersion: s.backend.version,
      executionProviders: opened[i].session.executionProviders,
      threads: s.sessionOptions.intraOpThreads,
      sizeBytes: s.sizeBytes,
      initMs: opened[i].initMs,
      firstRunMs: opened[i].firstRunMs,
      warmupRuns: plan.warmup,
      runs: samples[i].length,
      latencyMs,
      samplesMs: samples[i],
      batchSize,
      // Interleaved: each candidate's throughput is over its own run time, not the shared wall clock.
      throughputPerSec: (samples[i].length * batchSize * 1000) / wall[i],
      peakRssBytes: memory.peaks.rssBytes,
      peakHeapBytes: memory.peaks.heapBytes,
      // Process CPU time shared out in proportion to each candidate's run time.
      cpuMsPerRun: (cpuUsedMs * (wall[i] / totalRunMs)) / samples[i].length,
      harnessOverheadMs: overhead,
      pid: processId(),
      inputShapes: shapesOf(opened[i].feeds),
      targets: checkTargets(latencyMs, s.sizeBytes, options.thresholds),
    };
    if (options.profile)
      Object.assign(r, await profileModel(s.backend, s.source, s.sessionOptions, opened[i].feeds, options.profile));
    results.push(r);
  }
  return results;
}
