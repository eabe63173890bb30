/**
 * @edgeml/prune: magnitude, N:M and structured channel pruning on the core IR.
 * @module
 */
export { analyzeChannels, type ChannelAnalysis } from './channel-analysis.js';
export { ChannelGroup, type ChannelCut, type ChannelSlice } from './channel-group.js';
export { pruneChannels, type ChannelPruneOptions, type ChannelPruneResult, type GroupReport } from './channel.js';
export { channelImportance, type Criterion } from './importance.js';
export {
  pruneMagnitude,
  pruneNM,
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
