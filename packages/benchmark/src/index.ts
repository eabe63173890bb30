/**
 * @edgeml/benchmark: measure models the way edge teams judge them — latency percentiles,
 * throughput, memory, size, per-op profile, rules-of-thumb targets — and compare a float
 * model with its optimized forms side by side (interleaved run by run, on the same inputs),
 * with speed-up, size ratio and output agreement, in one run. Node only: it reads process
 * memory and CPU time. Models run on the {@link @edgeml/core!index.Backend | Backend} you pass in.
 *
 * ```ts
 * import { benchmarkEnvironment, compare, renderText } from '@edgeml/benchmark';
 * import { NodeBackend } from '@edgeml/runtime-node';
 *
 * const { results } = await compare([{ model: 'model.onnx' }, { model: 'model.int8.onnx', label: 'int8' }], {
 *   backend: new NodeBackend(),
 *   runs: 200,
 *   threads: 1,
 * });
 * console.log(results[1].speedup, results[1].latencyMs.p99, results[1].agreement);
 * const report = { environment: benchmarkEnvironment(), results };
 * console.log(renderText(report)); // renderMarkdown(report) and renderHtml(report) write the same as documents
 * ```
 *
 * Inputs are seeded random data from the model's declared inputs unless you give shapes,
 * fills or values. Guide: [benchmark](../../../docs/guide.md#benchmark); the harness's own cost:
 * [benchmarks](../../../docs/benchmarks.md#benchmark-harness-overhead-benchbenchmark-harnessmjs).
 * @module
 */
export { benchmark, type BenchmarkOptions, type BenchmarkResult } from './benchmark.js';
export { compare, type Candidate, type CompareOptions, type CompareResult, type ComparisonResult } from './compare.js';
export { benchmarkIsolated, type IsolationOptions } from './isolate.js';
export { matchIo, type IoMatch } from './io-match.js';
export { latencyStats, percentileOfSorted, histogram, type LatencyStats } from './statistics.js';
export { makeFeeds, type InputOptions } from './inputs.js';
export { benchmarkEnvironment, type BenchmarkEnvironment } from './environment.js';
export { summarizeOrtProfile, readOrtProfile, type OpProfile, type OpTime } from './profile.js';
export {
  checkSpeedup,
  explainSlowdown,
  qdqShare,
  opShares,
  kernelKind,
  QDQ_OP_TYPES,
  type SpeedCheckOptions,
  type SpeedCheckResult,
  type OpShare,
} from './speed-check.js';
export { measureSpeedBaseline, type SpeedBaseline, type TimedModel, type TimingOptions } from './speed-baseline.js';
export { checkTargets, DEFAULT_THRESHOLDS, type Thresholds, type TargetCheck } from './targets.js';
export { modelSizeBytes, type ModelSource } from './model-source.js';
export { type BenchmarkReport } from './report-format.js';
export { renderText } from './report-text.js';
export { renderMarkdown } from './report-markdown.js';
export { renderHtml } from './report-html.js';
