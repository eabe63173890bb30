/**
 * QDQ → QOperator: where a node reads only DequantizeLinear outputs and its result goes
 * only to a QuantizeLinear, replace the three with the QLinear operator that computes on
 * the integers directly (QLinearConv, QLinearMatMul, and onnxruntime's com.microsoft
 * QLinearAdd/Mul/AveragePool/GlobalAveragePool/Sigmoid/LeakyRelu/Concat). Everything else
 * stays in QDQ form, which runtimes accept side by side.
 */
import {
  isDefaultDomain,
  Node,
  eliminateDeadCode,
  replaceSubgraph,
  type Graph,
  type Model,
  type Value,
} from '@edgeml/core';

type Operand = { q: Value; scale: Value; zp: Value | undefined };

/** The integer tensor and parameters behind a DequantizeLinear output, if that is what `v` is. */
function dequantized(v: Value | undefined): Operand | undefined {
  const p = v?.producer();
  if (!p || p.opType !== 'DequantizeLinear' || !isDefaultDomain(p)) return undefined;
  return { q: p.inputs[0]!, scale: p.inputs[1]!, zp: p.inputs[2] };
}

/** The QuantizeLinear that alone consumes `v` (and `v` is no graph output). */
function soleQuantizer(graph: Graph, v: Value): Node | undefined {
  const uses = v.uses();
  if (uses.length !== 1 || graph.outputs.includes(v)) return undefined;
  const q = uses[0].node;
  return q.opType === 'QuantizeLinear' && uses[0].index === 0 ? q : undefined;
}

const MS = 'com.microsoft';

/** How each op maps: its QLinear name and domain, and how the operands line up. */
const TABLE: Record<
  string,
  { op: string; domain: string; build: (ins: Operand[], out: Operand, node: Node) => (Value | undefined)[] | undefined }
> = {
  Conv: {
    op: 'QLinearConv',
    domain: '',
    build: ([x, w, b], y) =>
      b && b.q.dtype !== 'int32'
        ? undefined
        : [x.q, x.scale, x.zp, w.q, w.scale, w.zp, y.scale, y.zp, ...(b ? [b.q] : [])],
  },
  MatMul: {
    op: 'QLinearMatMul',
    domain: '',
    build: ([a, b], y) => [a.q, a.scale, a.zp, b.q, b.scale, b.zp, y.scale, y.zp],
  },
  Add: { op: 'QLinearAdd', domain: MS, build: ([a, b], y) => [a.q, a.scale, a.zp, b.q, b.scale, b.zp, y.scale, y.zp] },
  Mul: { op: 'QLinearMul', domain: MS, build: ([a, b], y) => [a.q, a.scale, a.zp, b.q, b.scale, b.zp, y.scale, y.zp] },
  AveragePool: { op: 'QLinearAveragePool', domain: MS, build: ([x], y) => [x.q, x.scale, x.zp, y.scale, y.zp] },
  GlobalAveragePool: {
    op: 'QLinearGlobalAveragePool',
    domain: MS,
    build: ([x], y) => [x.q, x.scale, x.zp, y.scale, y.zp],
  },
  Sigmoid: { op: 'QLinearSigmoid', domain: MS, build: ([x], y) => [x.q, x.scale, x.zp, y.scale, y.zp] },
  LeakyRelu: { op: 'QLinearLeakyRelu', domain: MS, build: ([x], y) => [x.q, x.scale, x.zp, y.scale, y.zp] },
  Concat: {
    op: 'QLinearConcat',
    domain: MS,
    build: (ins, y) => [y.scale, y.zp, ...ins.flatMap((x) => [x.q, x.scale, x.zp])],
  },
  Softmax: { op: 'QLinearSoftmax', domain: MS, build: ([x], y) => [x.q, x.scale, x.zp, y.scale, y.zp] },
};

/** Per-channel zero points and scales are fine for weights; QLinear ops need scalar activation parameters. */
const scalar = (v: Value | undefined) => !v || (v.const ? v.const.size === 1 : false);

export interface QOperatorResult {
  converted: { name: string; opType: string; to: string }[];
}

/** Convert a QDQ model's eligible node groups to QOperator form, in place, in every graph. */
export function qdqToQOperator(model: Model): QOperatorResult {
  const result: QOperatorResult = { converted: [] };
  for (const graph of [...model.graphs()]) {
    for (const node of graph.nodes) {
      const entry = TABLE[node.opType];
      if (!entry || !isDefaultDomain(node)) continue;
      const ins = node.inputs.map(dequantized);
      if (ins.some((x, i) => !x && node.inputs[i])) continue;
      const q = soleQuantizer(graph, node.outputs[0]);
      if (!q) continue;
      const out: Operand = { q: q.outputs[0], scale: q.inputs[1]!, zp: q.inputs[2] };
      const operands = ins.filter((x): x is Operand => !!x);
      // Activations (everything but Conv/MatMul weights) need per-tensor parameters.
      const weightIdx = node.opType === 'Conv' || node.opType === 'MatMul' ? 1 : -1;
      if (
        operands.some(
          (o, i) => i !== weightIdx && !(node.opType === 'Conv' && i === 2) && !(scalar(o.scale) && scalar(o.zp)),
        ) ||
        !scalar(out.scale)
      )
        continue;
      const inputs = entry.build(operands, out, node);
      if (!inputs) continue;
      if (entry.domain && !model.opsetImports.has(entry.domain)) model.opsetImports.set(entry.domain, 1);
      const attributes = [...node.attributes.values()];
      if (node.opType === 'Softmax') {
        // onnxruntime's kernel is exact only at its fixed output scale, 1/256 with zero point 0.
        if (out.scale.const?.toFloat64()[0] !== 1 / 256 || (out.zp?.const?.toFloat64()[0] ?? 0) !== 0) continue;
        const opset = model.opset() ?? 13;
        attributes.push({ name: 'opset', kind: 'int', value: opset });
        if (!node.attributes.has('axis')) attributes.push({ name: 'axis', kind: 'int', value: opset >= 13 ? -1 : 1 });
      }
      const qnode = new Node({
        opType: entry.op,
        domain: entry.domain,
        name: node.name ? graph.names.node(`${node.name}_quant`) : '',
        inputs,
        attributes,
        outputs: [graph.names.value(`${q.outputs[0].name}__qlinear`)],
      });
      replaceSubgraph([node, q], [qnode], new Map([[q.outputs[0], qnode.outputs[0]]]));
      result.converted.push({ name: node.name, opType: node.opType, to: entry.op });
    }
  }
  eliminateDeadCode(model.graph);
  return result;
}
