/**
 * Reading a QDQ ONNX model for the full-integer export. @edgeml/tflite depends on core only
 * (DESIGN.md: optimization packages never import each other), so it does not calibrate or
 * quantize: the caller (the CLI, which composes packages) runs @edgeml/quantize's static QDQ
 * scheme first, and here each activation's QuantizeLinear → DequantizeLinear pair becomes the
 * scale and zero point of the float value it wraps, and each weight's DequantizeLinear a float
 * constant again. The model left is the float network the lowering already writes; its tensors
 * take those parameters afterwards (full-integer.ts), as TFLiteConverter folds fake-quant ops.
 */
import {
  InvalidArgumentError,
  Node,
  Tensor,
  eliminateDeadCode,
  replaceSubgraph,
  type Graph,
  type Model,
  type Value,
} from '@edgeml/core';

/** An activation's affine int8 quantization, `real = scale · (q − zeroPoint)`. */
export interface ActivationQuantization {
  scale: number;
  zeroPoint: number;
}

/** What {@link foldQdq} found. */
export interface FoldedQdq {
  /** The float model (a copy; the input is not modified). */
  model: Model;
  /** Scale and zero point of each quantized activation, by value name. */
  activations: Map<string, ActivationQuantization>;
  /** Weight DequantizeLinears turned back into float constants. */
  weights: number;
}

const scalarOf = (v: Value | undefined, fallback: number): number => (v?.const ? v.const.toNumbers()[0] : fallback);

/** The float values of a DequantizeLinear of constants: `(q − zeroPoint) · scale`, per `axis` when the scale is a vector. */
function dequantizeConstant(q: Tensor, scale: Tensor, zeroPoint: Tensor | undefined, axis: number): Tensor {
  const values = q.toFloat64();
  const scales = scale.toFloat64();
  const zps = zeroPoint ? zeroPoint.toFloat64() : new Float64Array(scales.length);
  const dims = q.dims;
  const along = axis < 0 ? axis + dims.length : axis;
  const inner = scales.length > 1 ? dims.slice(along + 1).reduce((a, b) => a * b, 1) : 1;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = scales.length > 1 ? Math.floor(i / inner) % scales.length : 0;
    out[i] = (values[i] - zps[c]) * scales[c];
  }
  return Tensor.from('float32', dims, out);
}

/**
 * The float model under a QDQ model, and the quantization its activation Q/DQ pairs carried.
 * A QuantizeLinear may feed several DequantizeLinears (one per reader) at its own scale and zero
 * point. A DequantizeLinear reading a computed value that no QuantizeLinear produces (an integer graph
 * input, as quantize's `fullInteger` writes) is an InvalidArgumentError: the export makes
 * integer inputs itself (`ioType`).
 */
export function foldQdq(input: Model): FoldedQdq {
  const model = input.clone();
  const graph = model.graph;
  const activations = new Map<string, ActivationQuantization>();
  let weights = 0;
  const folded = new Set<Node>();
  for (const dq of [...graph.nodes]) {
    if (dq.opType !== 'DequantizeLinear' || (dq.domain !== '' && dq.domain !== 'ai.onnx')) continue;
    const [x, scale, zp] = dq.inputs;
    const out = dq.outputs[0];
    if (!x || !scale?.const) continue;
    if (x.const) {
      const folded = dequantizeConstant(x.const, scale.const, zp?.const, dq.attr('axis', 'int', 1));
      out.replaceAllUsesWith(graph.addInitializer(graph.names.value(`${out.name}_float`), folded));
      if (!graph.outputs.includes(out)) graph.remove(dq);
      weights++;
      continue;
    }
    if (folded.has(dq)) continue;
    const q = x.producer();
    // One QuantizeLinear may feed a DequantizeLinear per reader (onnxruntime's QDQ format allows it): all fold.
    const readers = x.uses().map((u) => u.node);
    if (
      !q ||
      q.opType !== 'QuantizeLinear' ||
      graph.outputs.includes(x) ||
      readers.some((r) => r.opType !== 'DequantizeLinear' || r.inputs[0] !== x)
    )
      throw new InvalidArgumentError(
        `DequantizeLinear '${dq.name || out.name}' reads '${x.name}', which is not the QuantizeLinear of a float activation: the int8 export takes a QDQ model with float inputs and outputs (make integer I/O with ioType, not quantize's fullInteger)`,
        'quantize',
      );
    const params = {
      scale: scalarOf(q.inputs[1], NaN),
      zeroPoint: scalarOf(q.inputs[2], 0),
    };
    if (!(params.scale > 0) || (q.inputs[1]?.const?.size ?? 0) !== 1)
      throw new InvalidArgumentError(
        `QuantizeLinear '${q.name || x.name}' has no constant per-tensor scale: TFLite's int8 activations take one scale and zero point per tensor`,
        'quantize',
      );
    const float = q.inputs[0]!;
    // Each DequantizeLinear's output value takes the float one's place (its producer writes it);
    // a graph input is read directly. Any of the names may be the one left.
    activations.set(float.name, params);
    const replacements = new Map<Value, Value>();
    const scaled: Node[] = [];
    let same: Value | undefined; // the one DQ output that takes the float value's place; its twins read it
    for (const r of [...readers].sort(
      (a, b) => +graph.outputs.includes(b.outputs[0]) - +graph.outputs.includes(a.outputs[0]),
    )) {
      const out = r.outputs[0];
      const rescaled = rescale(graph, q, r, float, params);
      activations.set(out.name, { scale: scalarOf(r.inputs[1], NaN), zeroPoint: params.zeroPoint });
      folded.add(r);
      if (rescaled) {
        scaled.push(rescaled);
        replacements.set(out, rescaled.outputs[0]);
      } else if (same) out.replaceAllUsesWith(same);
      else replacements.set((same = out), float);
    }
    replaceSubgraph([q, ...readers], scaled, replacements);
  }
  eliminateDeadCode(graph);
  return { model, activations, weights };
}

/**
 * A DequantizeLinear at scale s' of a QuantizeLinear at scale s (same zero point) is `DQ(x) · s'/s`:
 * @edgeml/quantize folds a positive scalar Mul into the scale that way (onnxruntime then runs one
 * op fewer). TFLite has one quantization per tensor, so the Mul comes back (a float Mul by s'/s,
 * whose output takes s'); undefined when the scales agree. Another zero point is an
 * InvalidArgumentError.
 */
function rescale(graph: Graph, q: Node, dq: Node, float: Value, params: ActivationQuantization): Node | undefined {
  const scale = scalarOf(dq.inputs[1], NaN);
  if (scale === params.scale && scalarOf(dq.inputs[2], 0) === params.zeroPoint) return undefined;
  if (!(scale > 0) || (dq.inputs[1]?.const?.size ?? 0) !== 1 || scalarOf(dq.inputs[2], 0) !== params.zeroPoint)
    throw new InvalidArgumentError(
      `DequantizeLinear '${dq.name || dq.outputs[0].name}' reads '${q.outputs[0].name}' at another zero point (or no per-tensor scale) than its QuantizeLinear '${q.name || q.outputs[0].name}': the int8 export takes Q/DQ pairs that agree`,
      'quantize',
    );
  const name = dq.outputs[0].name;
  const factor = graph.addInitializer(
    graph.names.value(`${name}_rescale`),
    Tensor.from('float32', [], [scale / params.scale]),
  );
  return new Node({ opType: 'Mul', inputs: [float, factor], outputs: [graph.names.value(`${name}_rescaled`)] });
}

/** Whether `model` holds QuantizeLinear/DequantizeLinear nodes (a QDQ model). */
export function isQdqModel(model: Model): boolean {
  return model.graph.nodes.some((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
}
