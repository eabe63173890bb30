/**
 * Channel dependency analysis over the IR: which tensors share a channel axis, so that removing
 * channel c of one means removing it from all (Torch-Pruning's dependency graph, on ONNX). Each
 * op's rule (packages/prune/src/rules) says how its channels flow; anything no rule can prove
 * safe freezes the groups involved, with the reason.
 */
import type { Model } from '@edgeml/core';
import { AnalysisState } from './analysis-state.js';
import type { ChannelGroup } from './channel-group.js';
import { ruleLookup, type CustomChannelRule } from './rules/registry.js';

/** The channel groups of a model, split into those that can be pruned and those left alone. */
export interface ChannelAnalysis {
  /** Every group, united ones merged into one (the roots), cut ones replaced by their parts. */
  groups: ChannelGroup[];
  /** Groups that can be pruned: not frozen, with a producing weight. */
  prunable: ChannelGroup[];
  /** Groups left alone, with why. */
  frozen: { group: ChannelGroup; reason: string }[];
}

export interface ChannelAnalysisOptions {
  /**
   * Rules for ops the analysis does not know (which otherwise freeze the channels they read),
   * custom domains included; a rule given for a known op replaces the built-in one.
   */
  rules?: readonly CustomChannelRule[];
}

/**
 * Analyse the main graph. Shapes must be known (run shape inference first); node names should
 * be unique so reports can name them. Graph outputs keep their shapes, so groups reaching one
 * are frozen.
 *
 * @example
 * ```ts
 * import { inferShapes } from '@edgeml/core';
 * import { analyzeChannels, passThroughRule } from '@edgeml/prune';
 *
 * inferShapes(model, { strict: false });
 * const { prunable, frozen } = analyzeChannels(model, {
 *   rules: [{ opType: 'QuickGelu', domain: 'com.microsoft', rule: passThroughRule }],
 * });
 * for (const { group, reason } of frozen) console.log(group.origin, reason);
 * ```
 */
export function analyzeChannels(model: Model, options: ChannelAnalysisOptions = {}): ChannelAnalysis {
  const lookup = ruleLookup(options.rules);
  const state = new AnalysisState();
  for (const node of model.graph) state.visit(node, lookup(node));
  for (const value of model.graph.outputs)
    state.freeze(state.layouts.get(value), `graph output '${value.name}' must keep its shape`);
  const groups = state.roots();
  return {
    groups,
    prunable: groups.filter((g) => !g.frozen && g.sources.length > 0),
    frozen: groups.filter((g) => g.frozen).map((group) => ({ group, reason: group.frozen! })),
  };
}
