/**
 * The frame every fusion runs in: a rewrite names the op its region ends in (the root, whose
 * output the fused node takes over, name and readers included) and tries to replace the
 * region there. {@link applyRewrites} visits nodes in graph order, in the main graph and every
 * subgraph, and counts what each rewrite did.
 */
import { GraphBuilder, replaceSubgraph } from '../../ir/editing.js';
import type { Graph } from '../../ir/graph.js';
import type { Model } from '../../ir/model.js';
import type { Node, NodeInit } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { isDefaultDomain } from '../../ops/op-schema.js';
import type { Pass } from '../pass.js';

/** What a rewrite knows of where it runs. */
export interface RewriteContext {
  graph: Graph;
  /** The model's default-domain opset: which ops the rewrite may emit. */
  opset: number;
}

/**
 * One fusion: `apply` looks at the region ending at `root` (a default-domain node whose op is
 * in `roots`) and replaces it, returning true, only when the match is exact.
 */
export interface Rewrite {
  /** Counted under this name in reports. */
  readonly name: string;
  readonly roots: readonly string[];
  /** Lowest opset the rewrite's output needs (it is not tried below). */
  readonly minOpset?: number;
  apply(root: Node, context: RewriteContext): boolean;
}

/** Rewrites done, by rewrite name. */
export type RewriteCounts = Map<string, number>;

function graphsOf(graph: Graph): Graph[] {
  const out = [graph];
  for (const n of graph) for (const sub of n.subgraphs()) out.push(...graphsOf(sub));
  return out;
}

/**
 * Run `rewrites` once over every node of the model's graphs (the main graph and its subgraphs,
 * not model-local functions, whose opsets are their own). Returns how many rewrites were made
 * and adds them to `counts`.
 */
export function applyRewrites(model: Model, rewrites: readonly Rewrite[], counts?: RewriteCounts): number {
  const opset = model.opset() ?? 1;
  const usable = rewrites.filter((r) => opset >= (r.minOpset ?? 1));
  const byRoot = new Map<string, Rewrite[]>();
  for (const r of usable) for (const op of r.roots) byRoot.set(op, [...(byRoot.get(op) ?? []), r]);
  let done = 0;
  for (const graph of graphsOf(model.graph)) {
    const context = { graph, opset };
    for (const node of graph) {
      const candidates = isDefaultDomain(node) ? byRoot.get(node.opType) : undefined;
      for (const r of candidates ?? []) {
        if (!r.apply(node, context)) continue;
        done++;
        counts?.set(r.name, (counts.get(r.name) ?? 0) + 1);
        break;
      }
    }
  }
  return done;
}

/** Rewrites as one in-place pass. */
export function rewritePass(name: string, rewrites: readonly Rewrite[], counts?: RewriteCounts): Pass {
  return {
    name,
    inPlace: true,
    run: (model) => ({ model, modified: applyRewrites(model, rewrites, counts) > 0 }),
  };
}

/**
 * Replace `region` (closed, see `isClosed`) by one new node computing what `root` computed;
 * the root's output keeps its name, type and readers.
 */
export function fuseInto(
  region: readonly Node[],
  root: Node,
  opType: string,
  inputs: readonly (Value | undefined)[],
  attributes: NodeInit['attributes'] = {},
): Node {
  return fuseIntoChain(region, root, (b) => b.op(opType, inputs, attributes, [`${root.outputs[0].name}_fused`])[0]);
}

/** Like {@link fuseInto}, with the replacement built by `build`, which returns the value standing for the root's output. */
export function fuseIntoChain(region: readonly Node[], root: Node, build: (builder: GraphBuilder) => Value): Node {
  const graph = root.graph!;
  const builder = new GraphBuilder(graph, root.name || root.opType);
  const out = build(builder);
  const nodes = builder.nodes;
  replaceSubgraph(region, nodes, new Map([[root.outputs[0], out]]));
  return nodes[nodes.length - 1];
}
