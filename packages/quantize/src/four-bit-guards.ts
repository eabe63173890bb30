/**
 * What onnxruntime-node (1.30, CPU) refuses in a QDQ model with 4-bit activations, and the
 * placement that avoids it. Measured op by op on onnxruntime itself (tests/quantize-four-bit.test.ts):
 * - MaxPool: its QDQ propagation moves a 4-bit DequantizeLinear forward, or a 4-bit
 *   QuantizeLinear backward, through MaxPool (and through Reshape, Transpose, Squeeze,
 *   Unsqueeze and Slice on the way), then drops the DQ/Q pair around it, leaving a MaxPool on
 *   uint4/int4 tensors that no kernel takes: the session fails. Other data-movement ops do run
 *   on 4-bit tensors.
 * - Clip: its Clip→QuantizeLinear fusion throws on a 4-bit zero point, so no 4-bit Q may read a Clip.
 * - Conv: with 4-bit activations and 8-bit weights it fuses DQ→Conv→Q into a QLinearConv,
 *   which has no 4-bit kernel; 4-bit or 16-bit weights are left alone.
 * So a 4-bit MaxPool reads and writes float (the values around it stay quantized), a Clip's
 * 4-bit output is left float unless static placement folded the Clip into its producer's Q,
 * and a Conv under 4-bit activations takes 4-bit (or 16-bit) weights.
 */
import {
  InvalidArgumentError,
  isDefaultDomain,
  replaceSubgraph,
  type Graph,
  type Node,
  type Value,
} from '@edgeml/core';
import type { NodeOutcome } from './select.js';

/** Ops onnxruntime's QDQ propagation passes a Q or DQ through (MaxPool at its version 12). */
const PROPAGATING_OPS: ReadonlySet<string> = new Set([
  'MaxPool',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Slice',
]);

const isFourBit = (t: string | undefined) => t === 'uint4' || t === 'int4';
const isOp = (n: Node | undefined, op: string): boolean => !!n && n.opType === op && isDefaultDomain(n);
const propagates = (n: Node | undefined): boolean => !!n && PROPAGATING_OPS.has(n.opType) && isDefaultDomain(n);
/** The integer type a QuantizeLinear writes or a DequantizeLinear reads, from its zero point. */
const qdqType = (n: Node) => n.inputs[2]?.const?.dtype;

/**
 * 4-bit activations default to 4-bit weights: onnxruntime cannot run a Conv whose 4-bit input
 * meets 8-bit weights (see the module comment).
 */
export function defaultWeightType<W extends string>(activationType: string, weightType: W | undefined): W | 'int4' {
  return weightType ?? (isFourBit(activationType) ? 'int4' : ('int8' as W));
}

/** Refuses a Conv with a 4-bit input activation and an 8-bit weight, naming the node and the fix. */
export function checkFourBitConvWeights(
  chosen: readonly Node[],
  activationTypeOf: (v: Value) => string,
  weightTypeOf: (w: Value) => string,
): void {
  for (const node of chosen) {
    const [x, w] = node.inputs;
    if (node.opType !== 'Conv' || !isDefaultDomain(node) || !x || !w?.const || !isFourBit(activationTypeOf(x)))
      continue;
    const wt = weightTypeOf(w);
    if (wt === 'int8' || wt === 'uint8')
      throw new InvalidArgumentError(
        `Conv '${node.name}': ${activationTypeOf(x)} activations with ${wt} weights make a model onnxruntime refuses (it fuses them into a QLinearConv, which has no 4-bit kernel); use weightType int4, uint4 or int16 (--weight-type int4), or 8-bit activations`,
        'weightType',
      );
  }
}

/** The QuantizeLinear reading `v` (through ops that propagate a Q backward, each with one reader), if it is 4-bit. */
function fourBitQAfter(v: Value, graph: Graph): Node | undefined {
  for (let cur = v; ;) {
    const uses = cur.uses();
    if (uses.length !== 1 || graph.outputs.includes(cur)) return undefined;
    const reader = uses[0].node;
    if (isOp(reader, 'QuantizeLinear')) return isFourBit(qdqType(reader)) ? reader : undefined;
    if (!propagates(reader) || reader.inputs[0] !== cur) return undefined;
    cur = reader.outputs[0];
  }
}

/** Remove a QuantizeLinear and the DequantizeLinears after it: their readers read its float input. */
function dropQdq(q: Node): void {
  const x = q.inputs[0]!;
  const dqs = q.outputs[0].uses().map((u) => u.node);
  if (dqs.some((d) => !isOp(d, 'DequantizeLinear'))) return;
  for (const dq of dqs) dq.outputs[0].replaceAllUsesWith(x);
  replaceSubgraph([q, ...dqs], [], new Map());
}

/**
 * The first op, going up from `node` through single-reader propagating ops, that reads a 4-bit
 * DequantizeLinear of an activation, with that DequantizeLinear.
 */
function fourBitDqBefore(node: Node): { reader: Node; dq: Node } | undefined {
  for (let cur = node; ;) {
    const producer = cur.inputs[0]?.producer();
    if (isOp(producer, 'DequantizeLinear'))
      return isFourBit(qdqType(producer!)) && isOp(producer!.inputs[0]?.producer(), 'QuantizeLinear')
        ? { reader: cur, dq: producer! }
        : undefined;
    if (!propagates(producer) || producer!.outputs[0].uses().length !== 1) return undefined;
    cur = producer!;
  }
}

/**
 * Rewrites a placed QDQ graph so onnxruntime loads it with 4-bit activations: no 4-bit Q/DQ
 * reaches a MaxPool through ops onnxruntime propagates them across, and no 4-bit Q reads a
 * Clip. Each change leaves one activation float; it is returned as a skipped node, with why.
 */
export function guardFourBitActivations(
  graph: Graph,
  result: { dequantizedNames: Record<string, string> },
): NodeOutcome[] {
  const skipped: NodeOutcome[] = [];
  const unquantize = (q: Node, node: Node, reason: string) => {
    const name = q.inputs[0]!.name;
    dropQdq(q);
    delete result.dequantizedNames[name];
    skipped.push({ name: node.name, opType: node.opType, reason });
  };
  for (const node of [...graph.nodes]) {
    if (!node.graph) continue;
    if (isOp(node, 'MaxPool')) {
      const before = fourBitDqBefore(node);
      if (before) {
        // The float value the Q read: max commutes with rounding, so little is lost.
        before.reader.setInput(0, before.dq.inputs[0]!.producer()!.inputs[0]);
        skipped.push({ name: node.name, opType: node.opType, reason: FOUR_BIT_MAXPOOL });
      }
      const after = fourBitQAfter(node.outputs[0], graph);
      if (after) unquantize(after, node, FOUR_BIT_MAXPOOL);
    } else if (isOp(node, 'Clip')) {
      const after = fourBitQAfter(node.outputs[0], graph);
      if (after)
        unquantize(
          after,
          node,
          "onnxruntime's Clip→QuantizeLinear fusion throws on a 4-bit zero point: the Clip's output stays float",
        );
    }
  }
  return skipped;
}

const FOUR_BIT_MAXPOOL =
  'onnxruntime would move 4-bit Q/DQ onto this MaxPool and has no 4-bit MaxPool kernel: it reads and writes float';
