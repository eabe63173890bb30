/**
 * Reading a QDQ ONNX model for the full-integer export. @edgeml/tflite depends on core only
 * (DESIGN.md: optimization packages never import each other), so it does not calibrate or
 * quantize: the caller (the CLI, which composes packages) runs @edgeml/quantize's static QDQ
 * scheme first, and here each activation's QuantizeLinear → DequantizeLinear pair becomes the
 * scale and zero point of the float value it wraps, and each weight's DequantizeLinear a float
 * constant again. The model left is the float network the lowering already writes; its tensors
 * take those parameters afterwards (full-integer.ts), as TFLiteConverter folds fake-quant ops.
 */
import { InvalidArgumentError, Tensor, eliminateDeadCode, replaceSubgraph, type Model, type Value } from '@edgeml/core';

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
 * A DequantizeLinear reading a computed value that no QuantizeLinear produces (an integer graph
 * input, as quantize's `fullInteger` writes) is an InvalidArgumentError: the export makes
 * integer inputs itself (`ioType`).
 */
export function foldQdq(input: Model): FoldedQdq {
  const model = input.clone();
  const graph = model.graph;
  const activations = new Map<string, ActivationQuantization>();
  let weights = 0;
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
    const q = x.producer();
    if (!q || q.opType !== 'QuantizeLinear' || x.uses().length !== 1 || graph.outputs.includes(x))
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
    // The DequantizeLinear's output value takes the float one's place (its producer writes it);
    // a graph input is read directly. Either name may be the one left.
    activations.set(float.name, params);
    activations.set(out.name, params);
    replaceSubgraph([q, dq], [], new Map([[out, float]]));
  }
  eliminateDeadCode(graph);
  return { model, activations, weights };
}

/** Whether `model` holds QuantizeLinear/DequantizeLinear nodes (a QDQ model). */
export function isQdqModel(model: Model): boolean {
  return model.graph.nodes.some((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
}
