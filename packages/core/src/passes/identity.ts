import { isDefaultDomain } from '../ops/op-schema.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Pass } from './pass.js';

/** Identity, and Dropout in inference form (no training_mode, mask unused), pass values through. */
function passThroughInput(n: Node): boolean {
  if (!isDefaultDomain(n)) return false;
  if (n.opType === 'Identity') return n.inputs.length === 1 && !!n.inputs[0];
  if (n.opType === 'Dropout') {
    const training = n.inputs[2];
    const trainingOff =
      !training || (training.const !== undefined && !training.isGraphInput && training.const.toFloat64()[0] === 0);
    const maskUnused = !n.outputs[1] || (n.outputs[1].uses().length === 0 && !n.graph?.outputs.includes(n.outputs[1]));
    return !!n.inputs[0] && trainingOff && maskUnused && n.attr('is_test', 'int', 1) !== 0;
  }
  return false;
}

/**
 * Remove pass-through nodes, reconnecting readers to the node's input. When the output
 * is a graph output, the input takes over the output's name instead (only when the input
 * is a plain intermediate value), so graph output names never change.
 */
export function eliminateIdentities(graph: Graph): number {
  let removed = 0;
  for (const n of graph) for (const sub of n.subgraphs()) removed += eliminateIdentities(sub);
  for (const n of graph) {
    if (!passThroughInput(n)) continue;
    const input = n.inputs[0]!;
    const output = n.outputs[0];
    if (graph.outputs.includes(output)) {
      const producer = input.producer();
      if (!producer || producer.graph !== graph || graph.outputs.includes(input)) continue;
      output.replaceAllUsesWith(input);
      n.clearInputs();
      graph.remove(n, { safe: false });
      input.name = output.name;
      input.type = output.type ?? input.type;
    } else {
      output.replaceAllUsesWith(input);
      graph.remove(n);
    }
    removed++;
  }
  return removed;
}

export function identityElimination(): Pass {
  return {
    name: 'identity-elimination',
    inPlace: true,
    run: (model) => ({ model, modified: eliminateIdentities(model.graph) > 0 }),
  };
}
