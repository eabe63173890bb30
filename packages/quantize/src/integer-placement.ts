/**
 * Placement decisions of static QDQ that decide whether onnxruntime runs a region on integers:
 * hard activations lowered to ops with integer kernels, scales shared through data-movement ops,
 * constant operands quantized, and positive scalar Muls folded into a scale.
 */
import {
  GraphBuilder,
  Tensor,
  isDefaultDomain,
  replaceSubgraph,
  type Graph,
  type Node,
  type OpName,
  type Value,
} from '@edgeml/core';
import type { TensorRange } from './calibrate.js';
import type { StaticQuantizeResult } from './static-qdq.js';
import { quantizeWeight } from './quant-params.js';
import { isExcluded, type Exclusion, type NodeOutcome } from './select.js';

/**
 * Ops onnxruntime runs directly on the integers (dropping the DQ before and the Q after) only when
 * both carry the same scale and zero point: their output shares its input's quantization, or they
 * run in float between two conversions.
 */
const SCALE_SHARING_OPS: ReadonlySet<string> = new Set<OpName>([
  'Resize',
  'MaxPool',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Slice',
  'Expand',
  'Tile',
  'Split',
  'Gather',
]);

/** Whether onnxruntime runs `node` on the integers when the Q/DQ around it share one scale (a data-movement op). */
export function sharesScale(node: Node): boolean {
  return SCALE_SHARING_OPS.has(node.opType) && isDefaultDomain(node);
}

/**
 * The output of a data-movement op (Resize, MaxPool, Reshape...) takes its input's range, so its
 * Q and the DQ before it carry one scale and zero point and onnxruntime runs the op on the
 * integers. Graph order carries a shared range down a chain of them. `sameQuantization(a, b)`
 * says whether two tensors may share (the caller fixed neither's parameters, and their types agree).
 */
export function shareScales(
  chosen: readonly Node[],
  ranges: Map<string, TensorRange>,
  sameQuantization: (a: string, b: string) => boolean,
): void {
  for (const node of chosen) {
    const input = node.inputs[0];
    if (!sharesScale(node) || !input) continue;
    const range = ranges.get(input.name);
    if (!range) continue;
    for (const o of node.outputs)
      if (ranges.has(o.name) && sameQuantization(input.name, o.name)) ranges.set(o.name, range);
  }
}

/**
 * HardSwish and HardSigmoid have no integer kernel in onnxruntime: left whole, each runs in float
 * between a DQ and a Q (PP-OCR's backbone has 34). Written as `x · clip(αx + β, 0, 1)` they become
 * a QLinearAdd (αx folds into a scale, the clip into the quantized range) and a QLinearMul.
 * Rewrites the float graph before calibration; returns the nodes it lowered.
 */
export function lowerHardActivations(graph: Graph, exclude: Exclusion | undefined): Node[] {
  const lowered: Node[] = [];
  for (const node of [...graph]) {
    const hardSwish = node.opType === 'HardSwish';
    if ((!hardSwish && node.opType !== 'HardSigmoid') || !isDefaultDomain(node) || isExcluded(node, exclude)) continue;
    const x = node.inputs[0];
    if (!x || x.const || (x.dtype !== undefined && x.dtype !== 'float32')) continue;
    const alpha = hardSwish ? 1 / 6 : node.attr('alpha', 'float', 0.2);
    const beta = hardSwish ? 0.5 : node.attr('beta', 'float', 0.5);
    const rw = new GraphBuilder(graph, node.name || node.opType);
    const scalar = (base: string, v: number) => rw.constant(`${base}`, Tensor.from('float32', [], [v]));
    const [scaled] = rw.op('Mul', [x, scalar(`${node.name}_alpha`, alpha)], {}, [`${x.name}_times_alpha`]);
    const [shifted] = rw.op('Add', [scaled, scalar(`${node.name}_beta`, beta)], {}, [`${x.name}_plus_beta`]);
    const bounds = [scalar(`${node.name}_zero`, 0), scalar(`${node.name}_one`, 1)];
    const [gate] = rw.op('Clip', [shifted, ...bounds], {}, [
      hardSwish ? `${x.name}_hard_sigmoid` : node.outputs[0].name,
    ]);
    const out = hardSwish ? rw.op('Mul', [x, gate], {}, [node.outputs[0].name])[0] : gate;
    for (const v of [scaled, shifted, gate, out]) v.type = { kind: 'tensor', dtype: 'float32', shape: x.shape };
    replaceSubgraph([node], rw.nodes, new Map([[node.outputs[0], out]]));
    lowered.push(node);
  }
  return lowered;
}

/**
 * The constant operand of an Add or Mul between quantized activations (PP-LCNet's learnable
 * affine after each activation, a bias Add) goes behind a DequantizeLinear of the other operand's
 * type, one scale for the tensor as onnxruntime's quantizer does: with both inputs dequantized and
 * the output quantized, onnxruntime runs QLinearAdd/QLinearMul instead of a float op between a DQ
 * and a Q.
 */
export function quantizeConstantOperand(rw: GraphBuilder, node: Node, dqScale: Map<Value, number>): void {
  if ((node.opType !== 'Add' && node.opType !== 'Mul') || !isDefaultDomain(node)) return;
  const k = node.inputs.findIndex((v) => v?.const?.dtype === 'float32');
  const other = node.inputs[1 - k];
  if (k < 0 || k > 1 || !other || !dqScale.has(other)) return;
  if (!node.outputs[0].uses().some((u) => u.node.opType === 'QuantizeLinear')) return;
  const type = other.producer()?.inputs[2]?.const?.dtype;
  if (type !== 'uint8' && type !== 'int8') return;
  const constant = node.inputs[k]!;
  const q = quantizeWeight(constant.const!, { type, symmetric: type === 'int8' });
  const [dq] = rw.op(
    'DequantizeLinear',
    [
      rw.constant(`${constant.name}_quantized`, q.quantized),
      rw.constant(`${constant.name}_scale`, q.scale),
      rw.constant(`${constant.name}_zero_point`, q.zeroPoint),
    ],
    {},
    [`${constant.name}_dequantized`],
  );
  node.setInput(k, dq);
}

/** A scalar's value, when `v` is a one-element float constant. */
function scalarOf(v: Value | undefined): number | undefined {
  const t = v?.const;
  return t && t.dtype === 'float32' && t.size === 1 ? (t.data as Float32Array)[0] : undefined;
}

/** A per-tensor DequantizeLinear producing `v`: its integer input, scale and zero point. */
function perTensorDequantize(v: Value | undefined): { node: Node; scale: number } | undefined {
  const dq = v?.producer();
  if (!dq || dq.opType !== 'DequantizeLinear' || !isDefaultDomain(dq)) return undefined;
  const scale = scalarOf(dq.inputs[1]);
  if (scale === undefined || (dq.inputs[2]?.const && dq.inputs[2].const.size !== 1)) return undefined;
  return { node: dq, scale };
}

/**
 * `DQ(x) · c` with c a positive scalar is `x` dequantized at scale s·c: the Mul, its Q and the
 * DQs after it give way to one DequantizeLinear of `x` at the new scale. Exact (better than the
 * requantization it replaces), and one elementwise pass fewer: PP-LCNet's learnable scale and the
 * `x/6` of every lowered hard-swish disappear. Returns the Muls folded, with what they became.
 */
export function absorbScalarMuls(
  graph: Graph,
  chosen: readonly Node[],
  dqScale: Map<Value, number>,
  dequantizedNames: Record<string, string>,
): NodeOutcome[] {
  const folded: NodeOutcome[] = [];
  for (const mul of chosen) {
    if (mul.opType !== 'Mul' || !isDefaultDomain(mul) || !mul.graph) continue;
    const k = mul.inputs.findIndex((v) => (scalarOf(v) ?? 0) > 0);
    const source = perTensorDequantize(mul.inputs[1 - k]);
    const y = mul.outputs[0];
    const [q, ...rest] = y.uses().map((u) => u.node);
    if (k < 0 || k > 1 || !source || rest.length || q?.opType !== 'QuantizeLinear' || graph.outputs.includes(y))
      continue;
    const readers = q.outputs[0].uses().map((u) => u.node);
    if (graph.outputs.includes(q.outputs[0]) || readers.some((r) => r.opType !== 'DequantizeLinear')) continue;
    const c = scalarOf(mul.inputs[k])!;
    const rw = new GraphBuilder(graph, mul.name || 'Mul');
    const scale = rw.constant(`${y.name}_scale`, Tensor.from('float32', [], [Math.fround(source.scale * c)]));
    const [dq] = rw.op('DequantizeLinear', [source.node.inputs[0], scale, source.node.inputs[2]], {}, [
      `${y.name}_dequantized`,
    ]);
    rw.insertBefore(mul);
    for (const r of readers) r.outputs[0].replaceAllUsesWith(dq);
    replaceSubgraph([mul, q, ...readers], [], new Map());
    dqScale.set(dq, source.scale * c);
    dequantizedNames[y.name] = dq.name;
    folded.push({
      name: mul.name,
      opType: 'Mul',
      reason: `folded into the scale of ${source.node.inputs[0]!.name} (×${c})`,
    });
  }
  return folded;
}

/**
 * Relu (and Clip to a constant range) after a quantized producer disappears: with uint8
 * activations the QuantizeLinear on the producer's output, using the activation's range
 * (which starts at 0), clamps exactly as the activation did. onnxruntime then sees
 * DQ → Conv → Q and fuses it into one integer kernel.
 */
export function fuseActivations(
  graph: Graph,
  chosen: Node[],
  activations: Set<Value>,
  ranges: Map<string, TensorRange>,
  result: StaticQuantizeResult,
  unsignedOutput: (name: string) => boolean,
): void {
  const isChosen = new Set(chosen);
  for (const act of [...chosen]) {
    if (act.opType !== 'Relu' && act.opType !== 'Clip') continue;
    // Only an unsigned QuantizeLinear clamps at 0 (its zero point is its lowest level); a symmetric
    // int8/int16 override of the output would let negative values through.
    if (!unsignedOutput(act.outputs[0].name)) continue;
    const x = act.inputs[0];
    const y = act.outputs[0];
    const producer = x?.producer();
    if (!x || !producer || !isChosen.has(producer) || x.uses().length !== 1 || graph.outputs.includes(x)) continue;
    // Every reader of the activation's output must go through its QuantizeLinear, or the clamp would be lost.
    if (graph.outputs.includes(y) || y.uses().length === 0 || y.uses().some((u) => !isChosen.has(u.node))) continue;
    const r = ranges.get(y.name);
    if (!r || r.min < 0) continue;
    if (act.opType === 'Clip') {
      const lo = act.inputs[1]?.const?.toFloat64()[0] ?? act.attr('min', 'float');
      const hi = act.inputs[2]?.const?.toFloat64()[0] ?? act.attr('max', 'float');
      if (lo !== 0 || hi === undefined || r.max > hi + 1e-6) continue;
      // The quantization range must end where the clip does, so Q clamps at the same place.
      ranges.set(y.name, { min: 0, max: hi });
    }
    // The producer computes the activation's output itself (same name, same readers).
    replaceSubgraph([act], [], new Map([[y, x]]));
    activations.delete(x);
    chosen.splice(chosen.indexOf(act), 1);
    result.quantized.push({
      name: act.name,
      opType: act.opType,
      reason: `fused into ${producer.opType} '${producer.name}' (its QuantizeLinear clamps at 0)`,
    });
  }
}
