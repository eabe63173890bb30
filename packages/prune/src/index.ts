/**
 * @edgeml/prune: magnitude, N:M and structured channel pruning on the core IR.
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
