import type { Graph } from '../ir/graph.js';
import type { Pass } from './pass.js';

/** Remove nodes whose outputs nothing reads, then initializers nothing reads. Recurses into subgraphs. */
export function eliminateDeadCode(graph: Graph): number {
  let removed = 0;
  for (const n of graph) for (const sub of n.subgraphs()) removed += eliminateDeadCode(sub);
  const outputs = new Set(graph.outputs);
  const nodes = graph.nodes;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    const live = n.outputs.some((o) => outputs.has(o) || o.uses().length > 0);
    if (!live) {
      graph.remove(n);
      removed++;
    }
  }
  const inputs = new Set(graph.inputs);
  for (const [name, v] of [...graph.initializers]) {
    if (!inputs.has(v) && !outputs.has(v) && v.uses().length === 0) {
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
