/**
 * TFLite's full-integer int8 quantization (TFLiteConverter with `Optimize.DEFAULT`, a
 * representative dataset and `TFLITE_BUILTINS_INT8`), applied to a lowered float graph whose
 * activation tensors carry the scale and zero point @edgeml/quantize calibrated (qdq.ts). Every
 * float activation becomes int8 (asymmetric), and each operator gets what its int8 kernel
 * requires (tensorflow.org/lite/performance/quantization_spec):
 * - CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, FULLY_CONNECTED: symmetric int8 weights (zero
 *   point 0, range [−127, 127]) with one scale per output channel (`quantized_dimension` 0, 3
 *   for depthwise), int32 bias at scale input scale × weight scale, zero point 0;
 * - data-movement ops and pools (RESHAPE, TRANSPOSE, PAD, MAX_POOL_2D, AVERAGE_POOL_2D, SPLIT,
 *   GATHER, RESIZE_*, MAXIMUM/MINIMUM, …): output scale and zero point those of the input;
 * - CONCATENATION: every input at the output's scale and zero point (a QUANTIZE requantizes
 *   those that differ, as the converter does);
 * - SOFTMAX and LOGISTIC output scale 1/256, zero point −128; TANH 1/128, 0;
 * - ADD, SUB, MUL, MEAN, SUM, HARD_SWISH, RELU*, LEAKY_RELU, PRELU: any scales (constant
 *   operands get their own per-tensor int8 scale).
 * A QUANTIZE after each float input and a DEQUANTIZE before each float output keep the model's
 * I/O float32, as the converter's defaults; `ioType` 'int8' makes them int8 tensors carrying the
 * scale and zero point, and 'uint8' uint8 ones (zero point + 128) requantized by QUANTIZE
 * uint8 → int8 and int8 → uint8 at the edges, as the converter's `inference_input_type`.
 */
import { GraphError, InvalidArgumentError, UnsupportedOpError } from '@edgeml/core';
import { quantizePerChannel } from './dynamic-range.js';
import { Activation, TensorType, type BuiltinOperatorName } from './schema.js';
import type { TfliteGraph, TfliteOperator, TfliteTensor } from './tflite-graph.js';

/** Element types of the inputs and outputs of a full-integer .tflite. */
export const TFLITE_IO_TYPES = ['float32', 'int8', 'uint8'] as const;
export type TfliteIoType = (typeof TFLITE_IO_TYPES)[number];

type Params = { scale: number; zeroPoint: number };
type Rule =
  | { kind: 'weights'; data: number; filter: number; bias: number; channelAxis: number }
  | { kind: 'same' }
  | { kind: 'concat' }
  | { kind: 'fixed'; params: Params }
  | { kind: 'free' };

const weights = (data: number, filter: number, bias: number, channelAxis: number): Rule => ({
  kind: 'weights',
  data,
  filter,
  bias,
  channelAxis,
});
const each = (ops: BuiltinOperatorName[], rule: Rule) => Object.fromEntries(ops.map((op) => [op, rule]));

/** The int8 kernels the export writes, and the quantization each requires. */
const INT8_RULES: Partial<Record<BuiltinOperatorName, Rule>> = {
  CONV_2D: weights(0, 1, 2, 0),
  DEPTHWISE_CONV_2D: weights(0, 1, 2, 3),
  FULLY_CONNECTED: weights(0, 1, 2, 0),
  TRANSPOSE_CONV: weights(2, 1, 3, 0),
  ...each(
    [
      'RESHAPE',
      'TRANSPOSE',
      'PAD',
      'PADV2',
      'MIRROR_PAD',
      'MAX_POOL_2D',
      'AVERAGE_POOL_2D',
      'SPLIT',
      'SPLIT_V',
      'STRIDED_SLICE',
      'GATHER',
      'MAXIMUM',
      'MINIMUM',
      'RESIZE_BILINEAR',
      'RESIZE_NEAREST_NEIGHBOR',
      'SPACE_TO_DEPTH',
      'DEPTH_TO_SPACE',
      'REDUCE_MAX',
    ],
    { kind: 'same' },
  ),
  CONCATENATION: { kind: 'concat' },
  SOFTMAX: { kind: 'fixed', params: { scale: 1 / 256, zeroPoint: -128 } },
  LOGISTIC: { kind: 'fixed', params: { scale: 1 / 256, zeroPoint: -128 } },
  TANH: { kind: 'fixed', params: { scale: 1 / 128, zeroPoint: 0 } },
  ...each(['ADD', 'SUB', 'MUL', 'MEAN', 'SUM', 'HARD_SWISH', 'RELU', 'RELU6', 'RELU_N1_TO_1', 'LEAKY_RELU', 'PRELU'], {
    kind: 'free',
  }),
};

/** The operators whose int8 kernels the export writes. */
export const INT8_OPERATORS: readonly string[] = Object.keys(INT8_RULES);

const paramsOf = (t: TfliteTensor): Params | undefined =>
  t.quantization && { scale: t.quantization.scale[0], zeroPoint: t.quantization.zeroPoint[0] };
const asQuantization = (p: Params): TfliteTensor['quantization'] => ({
  scale: [Math.fround(p.scale)],
  zeroPoint: [p.zeroPoint],
  dimension: 0,
});
const sameParams = (a: Params, b: Params) =>
  Math.fround(a.scale) === Math.fround(b.scale) && a.zeroPoint === b.zeroPoint;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Asymmetric per-tensor int8 parameters covering `values` and 0. */
function ownParams(values: Float32Array): Params {
  let lo = 0;
  let hi = 0;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  return { scale, zeroPoint: clamp(Math.round(-128 - lo / scale), -128, 127) };
}

/** What {@link makeFullInteger} did. */
export interface FullIntegerResult {
  inputs: number[];
  outputs: number[];
  /** Tensors stored as int8 (activations and weights). */
  int8Tensors: number;
  /** QUANTIZE operators inserted to requantize an input to the scale its reader requires. */
  requantized: number;
  /** floatFallback: operators left in float (between DEQUANTIZE and QUANTIZE), by operator. */
  floatOperators: Record<string, number>;
}

/** The rewrite of one graph, operator by operator. */
class Integerizer {
  readonly activations = new Set<number>();
  private readonly floats = new Map<number, Float32Array>();
  private readonly constants = new Map<string, number>();
  readonly ops: TfliteOperator[] = [];
  requantized = 0;
  /** floatFallback: operators run in float, by operator; the float constants they read; the float copies of int8 tensors. */
  readonly floatOperators: Record<string, number> = {};
  private readonly floatConstants = new Set<number>();
  private readonly dequantized = new Map<number, number>();
  /** The int8 copy of each float graph input (after its QUANTIZE) → the float input: a float island reads the original. */
  readonly floatInputs = new Map<number, number>();

  constructor(
    readonly graph: TfliteGraph,
    readonly floatFallback = false,
  ) {
    graph.tensors.forEach((t, i) => {
      if (t.type === TensorType.FLOAT32 && !graph.isConstant(i)) this.activations.add(i);
    });
  }

  params(index: number, op: TfliteOperator): Params {
    const p = paramsOf(this.graph.tensors[index]);
    if (p) return p;
    const name = this.graph.tensors[index].name;
    const origin = this.graph.origins.get(op);
    // A tensor that one ONNX node's operators write and read, and no value of that node: a step
    // inside its lowering, which calibration never saw.
    const producer = this.graph.operators.find((o) => o.outputs.includes(index));
    if (origin && producer && this.graph.origins.get(producer) === origin && !origin.values.has(name))
      throw new UnsupportedOpError(
        origin.opType,
        '',
        undefined,
        `node '${origin.name}' (${origin.opType}) is written as several TFLite operators, and the tensor '${name}' between them (${op.op}) has no calibrated range: calibration observes the ONNX model's values only; export it with floatFallback (edgeml export --float-fallback: the node runs in float), or quantize 'dynamic' or 'none'`,
        origin.name,
      );
    // Read only by operators without an int8 kernel, the quantizer rightly left it float (a Relu
    // feeding a Sqrt, say): the refusal is theirs, though the operator writing it is lowered first.
    const reader = this.graph.operators.find((o) => o.inputs.includes(index) && !INT8_RULES[o.op]);
    if (reader)
      throw this.noInt8Kernel(
        reader,
        `, and its input '${name}' was left float for it, so ${op.op} cannot write it in int8 either`,
      );
    throw new GraphError(
      `tensor '${name}' (${op.op}) has no calibrated range: the int8 export needs every activation quantized. Quantize with @edgeml/quantize's TFLITE_STATIC_OPS first (edgeml export --quantize int8 does)`,
    );
  }

  setParams(index: number, p: Params): void {
    this.activations.add(index);
    const t = this.graph.tensors[index];
    t.quantization = asQuantization(p);
    t.type = TensorType.INT8;
  }

  floatValues(index: number): Float32Array {
    const cached = this.floats.get(index);
    if (cached) return cached;
    const bytes = this.graph.constantBytes(index);
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : Uint8Array.from(bytes);
    const values = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4).slice();
    this.floats.set(index, values);
    return values;
  }

  /** The float constant `index` as int8 at `params` (its own range when absent): converted in place once, copied after. */
  constant(index: number, params?: Params): number {
    const values = this.floatValues(index);
    const p = params ?? ownParams(values);
    const key = `${index}:${Math.fround(p.scale)}:${p.zeroPoint}`;
    const known = this.constants.get(key);
    if (known !== undefined) return known;
    const q = Int8Array.from(values, (v) => clamp(Math.round(v / p.scale) + p.zeroPoint, -128, 127));
    const bytes = new Uint8Array(q.buffer);
    let target = index;
    if (this.graph.tensors[index].type !== TensorType.FLOAT32 || this.floatConstants.has(index)) {
      const t = this.graph.tensors[index];
      target = this.graph.addConstantBytes(`${t.name}/requantized`, t.shape, bytes, TensorType.INT8);
    }
    this.graph.replaceConstant(target, bytes, TensorType.INT8, asQuantization(p));
    this.constants.set(key, target);
    return target;
  }

  /** `index` at `params`: itself, or a QUANTIZE (int8 → int8) of it emitted before the reader. */
  requantize(index: number, params: Params, op: TfliteOperator): number {
    if (this.graph.isConstant(index)) return this.constant(index, params);
    if (sameParams(this.params(index, op), params)) return index;
    const t = this.graph.tensors[index];
    const copy = this.graph.addTensor(`${t.name}/requantized`, t.shape, TensorType.INT8);
    this.setParams(copy, params);
    this.ops.push({ op: 'QUANTIZE', inputs: [index], outputs: [copy] });
    this.requantized++;
    return copy;
  }

  /**
   * Whether `index` holds real values the int8 rewrite gives parameters: an activation, a float
   * constant, or a float constant already converted for another reader (a constant two ops share,
   * such as tf2onnx's −0.4 of every Maximum: each reader gets it at the parameters it needs).
   */
  isFloat(index: number): boolean {
    if (index < 0) return false;
    if (this.activations.has(index) || this.graph.tensors[index].type === TensorType.FLOAT32) return true;
    return this.graph.isConstant(index) && this.floats.has(index);
  }

  /** Outputs of data-movement ops and concatenations computed only to feed them take their readers' parameters. */
  fillBackwards(): void {
    for (const op of [...this.graph.operators].reverse()) {
      const rule = INT8_RULES[op.op];
      if (rule?.kind !== 'same' && rule?.kind !== 'concat') continue;
      const p = paramsOf(this.graph.tensors[op.outputs[0]]);
      if (!p) continue;
      for (const i of op.inputs)
        if (this.activations.has(i) && !this.graph.tensors[i].quantization)
          this.graph.tensors[i].quantization = asQuantization(p);
    }
  }

  lower(op: TfliteOperator): void {
    const floatIn = op.inputs.filter((i) => this.isFloat(i));
    const floatOut = op.outputs.filter((i) => this.isFloat(i));
    if (!floatIn.length && !floatOut.length) return void this.ops.push(op);
    const rule = INT8_RULES[op.op];
    if (this.floatFallback && !this.integerPossible(op, rule)) return this.inFloat(op);
    if (!rule) throw this.noInt8Kernel(op);
    const data = op.inputs.find((i) => this.activations.has(i));
    if (rule.kind === 'weights') this.weights(op, rule);
    else if (rule.kind === 'same' || rule.kind === 'concat') {
      const ref =
        rule.kind === 'concat'
          ? (paramsOf(this.graph.tensors[op.outputs[0]]) ?? this.params(op.inputs[0], op))
          : this.params(data ?? op.inputs[0], op);
      op.inputs = op.inputs.map((i) => (this.isFloat(i) ? this.requantize(i, ref, op) : i));
      for (const o of floatOut) this.setParams(o, ref);
    } else {
      if (rule.kind === 'free' && !this.graph.tensors[op.outputs[0]].quantization) this.derive(op);
      op.inputs = op.inputs.map((i) => (this.isFloat(i) && this.graph.isConstant(i) ? this.constant(i) : i));
      for (const o of floatOut) this.setParams(o, rule.kind === 'fixed' ? rule.params : this.params(o, op));
    }
    for (const i of op.inputs) if (this.isFloat(i)) this.params(i, op);
    this.ops.push(op);
  }

  /** The refusal of an operator TFLite has no int8 kernel for, naming the ONNX node it came from. */
  private noInt8Kernel(op: TfliteOperator, via = ''): UnsupportedOpError {
    const tensor = this.graph.tensors[op.outputs[0]]?.name;
    const origin = this.graph.origins.get(op);
    const what = origin
      ? `node '${origin.name}' (${origin.opType}) is written as ${op.op} (its output '${tensor}')`
      : `'${tensor}' is computed by ${op.op}`;
    return new UnsupportedOpError(
      origin?.opType ?? op.op,
      '',
      undefined,
      `${what}, which has no int8 kernel in TFLite (the guide's "Full-integer int8" lists the ${INT8_OPERATORS.length} the export writes)${via}; export it with floatFallback (edgeml export --float-fallback: it runs in float between DEQUANTIZE and QUANTIZE), or quantize 'dynamic' or 'none'`,
      origin?.name ?? tensor,
    );
  }

  /**
   * Whether `op` can run on its int8 kernel: it has one, every float tensor it reads is a
   * constant or a calibrated activation, and its outputs get parameters (calibrated, from the
   * input, fixed, or derived by interval arithmetic for an ADD, SUB or MUL inside a lowering).
   */
  private integerPossible(op: TfliteOperator, rule: Rule | undefined): boolean {
    if (!rule) return false;
    const ranged = (i: number) => this.activations.has(i) && !!paramsOf(this.graph.tensors[i]);
    if (op.inputs.some((i) => this.isFloat(i) && !this.graph.isConstant(i) && !ranged(i))) return false;
    if (rule.kind === 'same' || rule.kind === 'concat' || rule.kind === 'fixed') return true;
    const derivable = rule.kind === 'free' && ['ADD', 'SUB', 'MUL'].includes(op.op) && op.inputs.length === 2;
    return derivable || op.outputs.every((o) => !this.activations.has(o) || ranged(o));
  }

  /**
   * `op` in float, as TFLiteConverter leaves an op it cannot quantize (its default op set):
   * int8 inputs through a DEQUANTIZE (one per tensor), float constants kept float, and each
   * calibrated output QUANTIZEd back to its parameters; an output without a range stays float
   * for its readers (which then run in float too).
   */
  private inFloat(op: TfliteOperator): void {
    op.inputs = op.inputs.map((i) => {
      if (i < 0) return i;
      const original = this.floatInputs.get(i);
      if (original !== undefined) return original;
      const t = this.graph.tensors[i];
      if (t.type === TensorType.FLOAT32 && this.graph.isConstant(i)) this.floatConstants.add(i);
      if (t.type !== TensorType.INT8 || !t.quantization || t.quantization.scale.length !== 1) return i;
      let copy = this.dequantized.get(i);
      if (copy === undefined) {
        copy = this.graph.addTensor(`${t.name}/float`, t.shape, TensorType.FLOAT32);
        this.ops.push({ op: 'DEQUANTIZE', inputs: [i], outputs: [copy] });
        this.dequantized.set(i, copy);
      }
      return copy;
    });
    const requantize: TfliteOperator[] = [];
    op.outputs = op.outputs.map((o) => {
      if (!this.activations.has(o)) return o;
      const p = paramsOf(this.graph.tensors[o]);
      if (!p) {
        this.activations.delete(o);
        return o;
      }
      const t = this.graph.tensors[o];
      const float = this.graph.addTensor(`${t.name}/float`, t.shape, TensorType.FLOAT32);
      this.setParams(o, p);
      requantize.push({ op: 'QUANTIZE', inputs: [float], outputs: [o] });
      return float;
    });
    this.ops.push(op, ...requantize);
    this.floatOperators[op.op] = (this.floatOperators[op.op] ?? 0) + 1;
  }

  /** The real interval tensor `index` covers: its parameters' for an activation, its values' for a constant. */
  private interval(index: number, op: TfliteOperator): [number, number] {
    if (this.graph.isConstant(index)) {
      const values = this.floatValues(index);
      return [Math.min(...values), Math.max(...values)];
    }
    const p = this.params(index, op);
    return [(-128 - p.zeroPoint) * p.scale, (127 - p.zeroPoint) * p.scale];
  }

  /**
   * Parameters for the output of an ADD, SUB or MUL that the ONNX model does not compute (a step
   * inside one ONNX op's lowering, as HardSigmoid's αx + β): interval arithmetic on its inputs'
   * ranges, clamped by the fused activation.
   */
  private derive(op: TfliteOperator): void {
    if ((op.op !== 'ADD' && op.op !== 'SUB' && op.op !== 'MUL') || op.inputs.length !== 2) return;
    const [[a, b], [c, d]] = op.inputs.map((i) => this.interval(i, op));
    const products = [a * c, a * d, b * c, b * d];
    let [lo, hi] =
      op.op === 'ADD'
        ? [a + c, b + d]
        : op.op === 'SUB'
          ? [a - d, b - c]
          : [Math.min(...products), Math.max(...products)];
    const activation = op.options?.values.fused_activation_function;
    if (activation === Activation.RELU || activation === Activation.RELU6) lo = Math.max(lo, 0);
    if (activation === Activation.RELU6) hi = Math.min(hi, 6);
    if (activation === Activation.RELU_N1_TO_1) [lo, hi] = [Math.max(lo, -1), Math.min(hi, 1)];
    this.graph.tensors[op.outputs[0]].quantization = asQuantization(ownParams(Float32Array.of(lo, hi)));
  }

  private weights(op: TfliteOperator, rule: Extract<Rule, { kind: 'weights' }>): void {
    const input = this.params(op.inputs[rule.data], op);
    const filter = op.inputs[rule.filter];
    const t = this.graph.tensors[filter];
    if (!this.graph.isConstant(filter) || t.type !== TensorType.FLOAT32)
      throw new UnsupportedOpError(
        op.op,
        '',
        undefined,
        `'${t.name}': the int8 ${op.op} needs constant float weights (each is quantized per output channel)`,
        t.name,
      );
    const { q, scale } = quantizePerChannel(this.floatValues(filter), t.shape, rule.channelAxis);
    const weightScale = scale.map((s) => Math.fround(s));
    this.graph.replaceConstant(filter, new Uint8Array(q.buffer), TensorType.INT8, {
      scale: weightScale,
      zeroPoint: weightScale.map(() => 0),
      dimension: rule.channelAxis,
    });
    const bias = op.inputs[rule.bias];
    if (bias !== undefined && bias >= 0) {
      const b = this.floatValues(bias);
      const biasScale = Array.from(b, (_, c) => Math.fround(Math.fround(input.scale) * weightScale[c]));
      const q32 = Int32Array.from(b, (v, c) => clamp(Math.round(v / biasScale[c]), -(2 ** 31), 2 ** 31 - 1));
      this.graph.replaceConstant(bias, new Uint8Array(q32.buffer), TensorType.INT32, {
        scale: biasScale,
        zeroPoint: biasScale.map(() => 0),
        dimension: 0,
      });
    }
    for (const o of op.outputs) this.setParams(o, this.params(o, op));
  }
}

/** A new tensor like `index` (shape), of `type`, for the edges of the graph. */
function edgeTensor(graph: TfliteGraph, index: number, suffix: string, type: TfliteTensor['type']): number {
  const t = graph.tensors[index];
  return graph.addTensor(`${t.name}/${suffix}`, t.shape, type);
}

/** uint8 parameters of the same real values as int8 ones. */
const asUint8 = (p: Params): TfliteTensor['quantization'] => ({
  scale: [Math.fround(p.scale)],
  zeroPoint: [p.zeroPoint + 128],
  dimension: 0,
});

/**
 * Rewrite `graph` (lowered in float, activations carrying their parameters) into a full-integer
 * int8 graph in place; returns its new inputs and outputs. With `floatFallback`, an operator
 * without an int8 kernel or a calibrated range runs in float between DEQUANTIZE and QUANTIZE
 * instead of being refused (TFLiteConverter's default op set; `TFLITE_BUILTINS_INT8` refuses).
 */
export function makeFullInteger(
  graph: TfliteGraph,
  inputs: readonly number[],
  outputs: readonly number[],
  ioType: TfliteIoType = 'float32',
  floatFallback = false,
): FullIntegerResult {
  if (!TFLITE_IO_TYPES.includes(ioType))
    throw new InvalidArgumentError(`ioType must be one of ${TFLITE_IO_TYPES.join(', ')}, got '${ioType}'`, 'ioType');
  const work = new Integerizer(graph, floatFallback);
  work.fillBackwards();
  const entry = { op: 'QUANTIZE' as const, inputs: [] as number[] };
  const newInputs = inputs.map((index) => {
    if (!work.activations.has(index)) return index;
    const p = work.params(index, { ...entry, outputs: [index] });
    if (ioType === 'int8') {
      work.setParams(index, p);
      return index;
    }
    const inner = edgeTensor(graph, index, 'int8', TensorType.INT8);
    work.setParams(inner, p);
    for (const op of graph.operators) op.inputs = op.inputs.map((i) => (i === index ? inner : i));
    const t = graph.tensors[index];
    work.activations.delete(index);
    t.quantization = ioType === 'uint8' ? asUint8(p) : undefined;
    t.type = ioType === 'uint8' ? TensorType.UINT8 : TensorType.FLOAT32;
    work.ops.push({ op: 'QUANTIZE', inputs: [index], outputs: [inner] });
    if (ioType === 'float32') work.floatInputs.set(inner, index);
    return index;
  });
  for (const op of graph.operators) work.lower(op);
  const newOutputs = outputs.map((index) => {
    const t = graph.tensors[index];
    if (t.type !== TensorType.INT8 || ioType === 'int8') return index;
    const edge = edgeTensor(graph, index, 'io', ioType === 'uint8' ? TensorType.UINT8 : TensorType.FLOAT32);
    if (ioType === 'uint8') graph.tensors[edge].quantization = asUint8(paramsOf(t)!);
    graph.swapName(edge, t.name);
    work.ops.push({ op: ioType === 'uint8' ? 'QUANTIZE' : 'DEQUANTIZE', inputs: [index], outputs: [edge] });
    return edge;
  });
  graph.operators.splice(0, graph.operators.length, ...work.ops);
  return {
    inputs: newInputs,
    outputs: newOutputs,
    int8Tensors: graph.tensors.filter((t) => t.type === TensorType.INT8).length,
    requantized: work.requantized,
    floatOperators: work.floatOperators,
  };
}
