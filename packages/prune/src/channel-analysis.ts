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
 * Analyse the main graph and every If/Loop/Scan body, each on its own. Shapes must be known
 * (run shape inference first); node names should be unique so reports can name them. Graph and
 * subgraph outputs keep their shapes, and so do values read inside a subgraph, so groups
 * reaching one are frozen.
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
  const groups: ChannelGroup[] = [];
  // Each graph on its own (If/Loop/Scan bodies included): channels never cross a graph boundary.
  for (const graph of model.graphs()) {
    const state = new AnalysisState();
    for (const node of graph) state.visit(node, lookup(node));
    const where = graph === model.graph ? 'graph output' : 'subgraph output';
    for (const value of graph.outputs)
      state.freeze(state.layouts.get(value), `${where} '${value.name}' must keep its shape`);
    for (const [value, layout] of state.layouts) {
      const inner = value.uses().find((u) => u.node.graph !== graph);
      if (inner)
        state.freeze(layout, `'${value.name}' is read inside a subgraph (${inner.node.opType} '${inner.node.name}')`);
    }
    groups.push(...state.roots());
  }
  return {
    groups,
    prunable: groups.filter((g) => !g.frozen && g.sources.length > 0),
    frozen: groups.filter((g) => g.frozen).map((group) => ({ group, reason: group.frozen! })),
  };
}
