/**
 * @edgeml/prune: magnitude, N:M and structured channel pruning on the core IR.
 * @module
 */
export { analyzeChannels, Space, type ChannelCut, type ChannelSlice, type DependencyGraph } from './dependency.js';
export {
  pruneChannels,
  channelImportance,
  type ChannelPruneOptions,
  type ChannelPruneResult,
  type Criterion,
  type GroupReport,
} from './channel.js';
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
