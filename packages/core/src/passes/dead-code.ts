import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Pass } from './pass.js';

/**
 * Whether `node` is still part of `root`'s graph tree: it, and every node whose subgraph holds
 * it, are in place. Nodes inside a removed If (a branch constant folding dropped) still list
 * their inputs, but they read nothing any more.
 */
function attached(node: Node, root: Graph): boolean {
  for (let n: Node | undefined = node; n;) {
    const g: Graph | undefined = n.graph;
    if (n._removed || !g) return false;
    if (g === root) return true;
    n = g.parentNode;
  }
  return false;
}

/** Remove nodes whose outputs nothing reads, then initializers nothing reads. Recurses into subgraphs. */
export function eliminateDeadCode(graph: Graph): number {
  let removed = 0;
  for (const n of graph) for (const sub of n.subgraphs()) removed += eliminateDeadCode(sub);
  const outputs = new Set(graph.outputs);
  const nodes = graph.nodes;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    const live = n.outputs.some((o) => outputs.has(o) || o.uses().some((u) => attached(u.node, graph.root)));
    if (!live) {
      // Readers inside a dropped branch still list it; nothing attached reads it (checked above).
      graph.remove(n, { safe: false });
      removed++;
    }
  }
  const inputs = new Set(graph.inputs);
  for (const [name, v] of [...graph.initializers]) {
    if (!inputs.has(v) && !outputs.has(v) && !v.uses().some((u) => attached(u.node, graph.root))) {
      graph.initializers.delete(name);
      removed++;
    }
  }
  return removed;
}

/** Dead-code elimination as a pass. */
export function deadCodeElimination(): Pass {
  return {
    name: 'dead-code-elimination',
    inPlace: true,
    run: (model) => ({ model, modified: eliminateDeadCode(model.graph) > 0 }),
  };
}
