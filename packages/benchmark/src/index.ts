/**
 * @edgeml/benchmark: measure models the way edge teams judge them — latency percentiles,
 * throughput, memory, size, per-op profile, rules-of-thumb targets — and compare a float
 * model with its optimized forms side by side, with output agreement, in one run.
 *
 * ```ts
 * import { compare, benchmarkEnvironment, renderText } from '@edgeml/benchmark';
 * import { NodeBackend } from '@edgeml/runtime-node';
 * const { results } = await compare([{ model: 'model.onnx' }, { model: 'model.int8.onnx' }], { backend: new NodeBackend(), runs: 200, threads: 1 });
 * console.log(renderText({ environment: benchmarkEnvironment(), results }));
 * ```
 * Node only (it reads process memory and CPU time).
 * @module
 */
export { benchmark, type BenchmarkOptions, type BenchmarkResult } from './benchmark.js';
export { compare, type Candidate, type CompareOptions, type CompareResult, type ComparisonResult } from './compare.js';
export { benchmarkIsolated, type IsolationOptions } from './isolate.js';
export { latencyStats, percentileOfSorted, histogram, type LatencyStats } from './statistics.js';
export { makeFeeds, type InputOptions } from './inputs.js';
export { benchmarkEnvironment, type BenchmarkEnvironment } from './environment.js';
export { summarizeOrtProfile, readOrtProfile, type OpProfile, type OpTime } from './profile.js';
export { checkTargets, DEFAULT_THRESHOLDS, type Thresholds, type TargetCheck } from './targets.js';
export { modelSizeBytes, type ModelSource } from './model-source.js';
export { type BenchmarkReport } from './report-format.js';
export { renderText } from './report-text.js';
export { renderMarkdown } from './report-markdown.js';
export { renderHtml } from './report-html.js';
