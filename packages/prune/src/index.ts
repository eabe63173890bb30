/**
 * @edgeml/prune: make a model smaller on the core IR. Structured channel pruning removes
 * channels physically — a dependency analysis finds which convolutions, BatchNorms, Concats,
 * residual Adds and Gemms must lose the same channels — so the model gets smaller and faster on
 * any runtime; magnitude and N:M pruning zero weights in place (same shapes; the file then
 * compresses well). The input model is never modified.
 *
 * ```ts
 * import { compressedSize, modelFigures } from '@edgeml/core';
 * import { loadModel, saveModel } from '@edgeml/core/node';
 * import { pruneChannels, pruneMagnitude } from '@edgeml/prune';
 *
 * const model = await loadModel('model.onnx');
 *
 * // Structured: half the channels of every group that can lose them (`roundTo: 8` keeps multiples of 8).
 * const { model: slim, groups, skipped } = await pruneChannels(model, { ratio: 0.5, criterion: 'l1' });
 * console.log(modelFigures(model), modelFigures(slim)); // parameters, MACs per sample, bytes: before and after
 * console.log(groups.length, skipped); // groups pruned; groups left alone, each with the reason
 * await saveModel('model.slim.onnx', slim);
 *
 * // Unstructured: the 80 % smallest weights set to zero.
 * const sparse = pruneMagnitude(model, { ratio: 0.8 });
 * console.log(sparse.sparsity, await compressedSize(model), await compressedSize(sparse.model)); // gzip bytes
 * ```
 *
 * Accuracy comes back with fine-tuning: `pruneIteratively` prunes in steps and calls your
 * fine-tuning function between them (e.g. `fineTune` from @edgeml/distill).
 * Guide: [prune](../../../docs/guide.md#prune); size, MACs and latency against ratio:
 * [benchmarks](../../../docs/benchmarks.md#structured-pruning-size-macs-and-latency-against-ratio-benchprunemjs).
 * @module
 */
export { analyzeChannels, type ChannelAnalysis, type ChannelAnalysisOptions } from './channel-analysis.js';
export {
  ChannelGroup,
  type ChannelCut,
  type ChannelLayout,
  type ChannelSegment,
  type ChannelSlice,
} from './channel-group.js';
export type { ChannelRule, ChannelRuleContext, SliceKind } from './rules/rule.js';
export { DEFAULT_CHANNEL_RULES, type CustomChannelRule } from './rules/registry.js';
export { passThroughRule } from './rules/pass-through.js';
export { elementwiseRule } from './rules/elementwise.js';
export {
  pruneChannels,
  validateChannelOptions,
  type ChannelPruneOptions,
  type ChannelPruneResult,
  type GroupReport,
} from './channel.js';
export {
  prune,
  pruningSchemes,
  type PruneOptions,
  type PruneCommonOptions,
  type PruneResult,
  type PruneRecord,
  type PruningScheme,
} from './schemes.js';
export { channelImportance, type Criterion } from './importance.js';
export {
  pruneMagnitude,
  pruneNM,
  validateMagnitudeOptions,
  validateNMOptions,
  type NMOptions,
  type MagnitudeOptions,
  type SparsityOptions,
  type SparsityResult,
  type LayerSparsity,
} from './unstructured.js';
export {
  pruneIteratively,
  scheduledRatio,
  type IterativePruneOptions,
  type IterationReport,
  type PruneSchedule,
} from './iterative.js';
