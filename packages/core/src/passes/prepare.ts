import { isDefaultDomain } from '../ops/op-schema.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { Value } from '../ir/value.js';
import { Tensor } from '../tensor/tensor.js';
import { dtypeFromOnnx } from '../tensor/dtype.js';
import { liftConstants } from './lift-constants.js';

/** What an operation needs of the model it is given (see {@link prepare}). */
export interface PrepareNeeds {
  /** Turn `Constant` nodes into initializers, in subgraphs too (default true). */
  liftConstants?: boolean;
  /**
   * Replace `Cast` nodes that widen a float16/bfloat16 initializer to float32 by the float32
   * initializer, so weights a model stores in half precision are seen as weights (default false:
   * it grows the model; quantization and pruning ask for it).
   */
  foldWeightCasts?: boolean;
}

/** One thing {@link prepare} did, for reports (`prepared: [...]` in the CLI's JSON). */
export interface PreparedStep {
  step: 'lift-constants' | 'fold-weight-casts';
  /** Nodes rewritten. */
  count: number;
  /** One line for people, e.g. "342 Constant nodes became initializers". */
  detail: string;
}

export interface PrepareResult {
  /** The prepared model: `model` itself when nothing needed doing, otherwise a clone. */
  model: Model;
  prepared: PreparedStep[];
}

const WIDENED = new Set(['float16', 'bfloat16']);

/** Cast(initializer: float16|bfloat16 → float32) nodes in `graph` and its subgraphs. */
function foldWeightCasts(graph: Graph): number {
  let folded = 0;
  for (const node of [...graph]) {
    for (const sub of node.subgraphs()) folded += foldWeightCasts(sub);
    if (node.opType !== 'Cast' || !isDefaultDomain(node)) continue;
    const source = node.inputs[0];
    const out = node.outputs[0];
    const weight = source?.const;
    if (!weight || !WIDENED.has(weight.dtype) || graph.inputs.includes(source) || graph.outputs.includes(out)) continue;
    if (dtypeFromOnnx(node.attr('to', 'int', 0)) !== 'float32') continue;
    const widened = Tensor.from('float32', weight.dims, Float32Array.from(weight.toFloat64()));
    widened.name = out.name;
    const init = new Value(out.name, { kind: 'tensor', dtype: 'float32', shape: [...weight.dims] }, widened);
    out.replaceAllUsesWith(init);
    graph.remove(node);
    init.graph = graph;
    graph.initializers.set(init.name, init);
    folded++;
  }
  return folded;
}

function hasNode(model: Model, test: (opType: string) => boolean): boolean {
  for (const g of model.graphs()) for (const n of g) if (isDefaultDomain(n) && test(n.opType)) return true;
  return false;
}

/**
 * Prepare a model as an operation needs it: weights that exporters store as `Constant` nodes
 * (paddle2onnx, spox, some PyTorch exports) become initializers, and, when asked, half-precision
 * weights behind a `Cast` become float32 initializers. The input is never modified: a clone is
 * prepared when anything needs doing, and `prepared` says what was done.
 *
 * @example
 * ```ts
 * const { model: ready, prepared } = prepare(model, { foldWeightCasts: true });
 * for (const p of prepared) console.log(p.detail);
 * ```
 */
export function prepare(model: Model, needs: PrepareNeeds = {}): PrepareResult {
  const lift = (needs.liftConstants ?? true) && hasNode(model, (op) => op === 'Constant');
  const casts = !!needs.foldWeightCasts && hasNode(model, (op) => op === 'Cast');
  if (!lift && !casts) return { model, prepared: [] };
  const work = model.clone();
  const prepared: PreparedStep[] = [];
  if (lift) {
    const count = liftConstants(work.graph);
    if (count) prepared.push({ step: 'lift-constants', count, detail: `${count} Constant nodes became initializers` });
  }
  if (casts) {
    const count = foldWeightCasts(work.graph);
    if (count)
      prepared.push({
        step: 'fold-weight-casts',
        count,
        detail: `${count} half-precision weights behind a Cast became float32 initializers`,
      });
  }
  return prepared.length ? { model: work, prepared } : { model, prepared };
}
