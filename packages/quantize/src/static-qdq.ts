/**
 * Static quantization in QDQ form: calibrated activation ranges become QuantizeLinear /
 * DequantizeLinear pairs, weights become integer constants behind DequantizeLinear, biases
 * int32 at scale x_scale·w_scale. onnxruntime fuses these into QLinear kernels.
 */
import {
  isDefaultDomain,
  opEntry,
  GraphBuilder,
  InvalidArgumentError,
  Tensor,
  UnsupportedOpError,
  eliminateDeadCode,
  insertOnEdge,
  type Node,
  type Value,
  type Backend,
  type Graph,
  type Model,
  type OpName,
} from '@edgeml/core';
import { calibrate, type CalibrationData, type CalibrationOptions, type TensorRange } from './calibrate.js';
import {
  computeScaleZeroPoint,
  quantRange,
  quantTensor,
  quantizeArray,
  quantizeWeight,
  type QuantType,
} from './quant-params.js';
import { qdqToQOperator } from './qoperator.js';
import {
  absorbScalarMuls,
  fuseActivations,
  lowerHardActivations,
  quantizeConstantOperand,
  shareScales,
  sharesScale,
} from './integer-placement.js';
import { isExcluded, type Exclusion, type NodeOutcome } from './select.js';
import { fixOutputRanges } from './fixed-ranges.js';
import { checkFourBitConvWeights, defaultWeightType, guardFourBitActivations } from './four-bit-guards.js';

/**
 * Chosen ops that onnxruntime runs as integer kernels once their output is quantized too
 * (QLinearConv, QLinearMatMul, QGemm, QLinearAdd/Mul/Concat/AveragePool/GlobalAveragePool,
 * QLinearSigmoid/LeakyRelu/Softmax); layout ops (Reshape, Transpose...) are not among them: a Q
 * after one only adds work when its reader is float.
 */
const INTEGER_KERNEL_OPS: ReadonlySet<string> = new Set<OpName>([
  'Conv',
  'MatMul',
  'Gemm',
  'Add',
  'Mul',
  'Concat',
  'AveragePool',
  'GlobalAveragePool',
  'Sigmoid',
  'LeakyRelu',
  'Softmax',
]);

/** The integer-kernel ops whose cost makes quantizing a model output they compute worth its precision. */
const HEAVY_OPS: ReadonlySet<string> = new Set<OpName>(['Conv', 'MatMul', 'Gemm']);

/** Ops whose float inputs and outputs get QDQ pairs; weights of Conv, ConvTranspose, MatMul and Gemm are quantized too. */
export const STATIC_OPS = [
  'Conv',
  'MatMul',
  'Gemm',
  'Add',
  'Mul',
  'Relu',
  'Clip',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'Concat',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Resize',
  'Softmax',
  'Sigmoid',
  'LeakyRelu',
  'Split',
  'Pad',
  'Gather',
  'Where',
] as const satisfies readonly OpName[];

const WEIGHT_INPUT: Partial<Record<OpName, { weight: number; bias?: number; axis: (node: Node) => number }>> = {
  Conv: { weight: 1, bias: 2, axis: () => 0 },
  // ConvTranspose weights are [Cin, Cout/group, k...]: output channels sit on axis 1, and only
  // with one group do they line up one-to-one with the bias.
  ConvTranspose: { weight: 1, bias: 2, axis: (n) => (n.attr('group', 'int', 1) === 1 ? 1 : -1) },
  MatMul: { weight: 1, axis: () => 1 },
  Gemm: { weight: 1, bias: 2, axis: (n) => (n.attr('transB', 'int', 0) ? 0 : 1) },
};

/** Quantized activation types; the 4-bit ones need opset 21 (onnxruntime runs them as float kernels between Q/DQ). */
export type ActivationType = 'uint8' | 'int8' | 'int16' | 'uint4' | 'int4';
/** Quantized weight types. */
export type WeightType = 'int8' | 'uint8' | 'int16' | 'int4' | 'uint4';
const ACTIVATION_TYPES: readonly string[] = ['uint8', 'int8', 'int16', 'uint4', 'int4'];
/** Unsigned activation types are asymmetric, and their zero point at a range starting at 0 is their lowest level. */
const isUnsigned = (t: string) => t.startsWith('u');
/** Whether activations of type `t` are symmetric: signed ones unless `activationSymmetric` is false. */
const symmetricOf = (options: StaticQuantizeOptions, t: string) =>
  !isUnsigned(t) && options.activationSymmetric !== false;
const WEIGHT_TYPES: readonly string[] = ['int8', 'uint8', 'int16', 'int4', 'uint4'];

export interface StaticQuantizeOptions extends CalibrationOptions {
  calibrationData: CalibrationData;
  backend: Backend;
  /** Activation type (default uint8, asymmetric; int8 is symmetric). int16, uint4 and int4 need opset 21. */
  activationType?: ActivationType;
  /**
   * Whether signed activations (int8, int16, int4) are symmetric, zero point 0 (default true, what
   * onnxruntime's quantizer does). false: asymmetric, with a zero point anywhere in the type's
   * range, as TFLite's full-integer int8 expects (a Relu output then uses all 256 levels); with
   * int8 activations it also gives Softmax and Sigmoid outputs the fixed scale 1/256 and zero
   * point −128, and Tanh's 1/128 and 0, which TFLite's int8 kernels require
   * (tensorflow.org/lite/performance/quantization_spec). See {@link TFLITE_STATIC_OPS}.
   */
  activationSymmetric?: boolean;
  /**
   * Weight type (default int8, symmetric; int4 with 4-bit activations, which onnxruntime cannot
   * run against 8-bit Conv weights; int16 and int4 are symmetric too and need opset 21; uint8/uint4 asymmetric).
   */
  weightType?: WeightType;
  /**
   * One weight scale per output channel of Conv/ConvTranspose/Gemm/MatMul (opset 13). Through
   * `quantize({ mode: 'static' })` the default is true; `quantizeStatic` itself defaults to false.
   */
  perChannel?: boolean;
  reduceRange?: boolean;
  opTypes?: readonly string[];
  exclude?: Exclusion;
  /** Ranges to use instead of calibrated ones, by tensor name. */
  rangeOverrides?: Record<string, TensorRange>;
  /** Exact scale and zero point for some activations, by tensor name (they win over any range). */
  paramOverrides?: Record<string, { scale: number; zeroPoint: number }>;
  /**
   * Quantized type per tensor, by name: activations take uint8, int8 or int16; weights (by
   * initializer name) any weight type. QDQ form only (QOperator kernels need one type
   * throughout). E.g. `{ 'conv1_out': 'int16', 'fc.weight': 'int4' }` keeps a sensitive
   * activation wide and shrinks a large weight further.
   */
  typeOverrides?: Record<string, ActivationType | WeightType>;
  /**
   * Full-integer model, as the TFLite converter offers: float inputs and outputs become the
   * activation type (uint8/int8) with the same names; each one's scale and zero point are
   * recorded in the model metadata under `edgeml.quantization.<name>` ({scale, zeroPoint, type}).
   */
  fullInteger?: boolean;
  /** Output form: QDQ pairs (default) or QOperator (QLinear ops where a node group allows it). */
  format?: 'qdq' | 'qoperator';
}

export interface StaticQuantizeResult {
  quantized: NodeOutcome[];
  skipped: NodeOutcome[];
  /** Calibrated range of every quantized activation. */
  ranges: Record<string, TensorRange>;
  /** For each quantized activation, the value carrying its dequantized form (what readers see). */
  dequantizedNames: Record<string, string>;
  /**
   * Every range calibrated or given, before fusion and scale sharing: also those of tensors a
   * fused Relu then left unquantized, which a later quantization of a variant would otherwise
   * calibrate again (a full run over the samples).
   */
  calibratedRanges?: Record<string, TensorRange>;
}

const isFloatActivation = (v: Value | undefined): v is Value =>
  !!v && !v.const && (v.dtype === undefined || v.dtype === 'float32');

/** Option checks that need no model: data, backend, types and form. */
export function validateStaticOptions(options: StaticQuantizeOptions): void {
  const data = options.calibrationData as unknown as Record<symbol, unknown> | undefined;
  if (!data || (typeof data[Symbol.iterator] !== 'function' && typeof data[Symbol.asyncIterator] !== 'function'))
    throw new InvalidArgumentError(
      'static quantization needs calibrationData: an iterable or async iterable of { inputName: Tensor } samples',
      'calibrationData',
    );
  if (!options.backend)
    throw new InvalidArgumentError(
      'static quantization runs the model to calibrate it: pass a backend (e.g. one resolved from the backend registry)',
      'backend',
    );
  if (options.activationType !== undefined && !ACTIVATION_TYPES.includes(options.activationType))
    throw new InvalidArgumentError(
      `activationType must be ${ACTIVATION_TYPES.join(', ')}; got '${options.activationType as string}'`,
      'activationType',
    );
  if (options.weightType !== undefined && !WEIGHT_TYPES.includes(options.weightType))
    throw new InvalidArgumentError(
      `weightType must be ${WEIGHT_TYPES.join(', ')}; got '${options.weightType as string}'`,
      'weightType',
    );
  if (options.format !== undefined && options.format !== 'qdq' && options.format !== 'qoperator')
    throw new InvalidArgumentError(`format must be qdq or qoperator, got '${options.format as string}'`, 'format');
  if (Object.keys(options.typeOverrides ?? {}).length && options.format === 'qoperator')
    throw new InvalidArgumentError(
      'typeOverrides work in QDQ form only: QOperator kernels take one quantized type throughout',
      'typeOverrides',
    );
}

/** The opset static QDQ needs: 10, 13 for per-channel weights, 21 for 16-bit and 4-bit types. */
export function staticQuantizationOpset(options: StaticQuantizeOptions): number {
  const types = [
    options.activationType ?? 'uint8',
    options.weightType ?? 'int8',
    ...Object.values(options.typeOverrides ?? {}),
  ];
  return types.some((t) => ['int16', 'int4', 'uint4'].includes(t)) ? 21 : options.perChannel ? 13 : 10;
}

function checkOpset(
  model: Model,
  options: StaticQuantizeOptions,
  actType: ActivationType,
  weightType: WeightType,
): void {
  const opset = model.opset() ?? 0;
  const needOpset = staticQuantizationOpset({ ...options, activationType: actType, weightType });
  if (opset < needOpset)
    throw new UnsupportedOpError(
      'QuantizeLinear',
      '',
      opset,
      `static QDQ quantization with ${actType} activations and ${weightType} weights${options.perChannel ? ' per channel' : ''} needs opset ${needOpset} or later; this model imports opset ${opset}. quantize() converts it; here, convertOpset(model, ${needOpset}) first`,
    );
}

/**
 * Ops static quantization can take (through `opTypes`) but leaves float by default, with why: a
 * user reading the skipped list learns what asking for them costs.
 */
const OPT_IN_OPS: Partial<Record<OpName, string>> = {
  ConvTranspose:
    'onnxruntime has no integer ConvTranspose kernel on CPU: quantized, it would dequantize its weights on every run (add it to opTypes to store them in int8 anyway)',
};

/**
 * Hard activations are lowered to Mul, Add and Clip when those are quantized too and the Clip can
 * fold into an unsigned range (uint8 activations), in QDQ form.
 */
function lowersHardActivations(options: StaticQuantizeOptions, actType: ActivationType): boolean {
  const ops = new Set<string>(options.opTypes ?? STATIC_OPS);
  return isUnsigned(actType) && options.format !== 'qoperator' && ['Mul', 'Add', 'Clip'].every((op) => ops.has(op));
}

/** The nodes to quantize, in graph order; every other candidate is recorded as skipped, with why. */
function chooseNodes(graph: Graph, options: StaticQuantizeOptions, result: StaticQuantizeResult): Node[] {
  const ops = new Set(options.opTypes ?? STATIC_OPS);
  const chosen: Node[] = [];
  const skip = (node: Node, reason: string) => result.skipped.push({ name: node.name, opType: node.opType, reason });
  const typeOf = (v: Value | undefined) => (v && options.typeOverrides?.[v.name]) ?? options.activationType ?? 'uint8';
  for (const node of graph) {
    const optIn = options.opTypes ? undefined : opEntry(OPT_IN_OPS, node);
    if (optIn) skip(node, optIn);
    if (!ops.has(node.opType) || !isDefaultDomain(node)) continue;
    const w = opEntry(WEIGHT_INPUT, node);
    if (isExcluded(node, options.exclude)) skip(node, 'excluded by the caller');
    else if (w && !(node.inputs[w.weight]?.const?.dtype === 'float32' || isFloatActivation(node.inputs[w.weight])))
      skip(node, 'weight is not float32');
    else if (node.opType === 'Gemm' && node.attr('transA', 'int', 0)) skip(node, 'transA=1 is not quantized');
    else if (sharesScale(node) && [node.inputs[0], node.outputs[0]].some((v) => typeOf(v).endsWith('int4')))
      // onnxruntime drops the DQ/Q pair around a data-movement op whose scales agree, and has no
      // 4-bit kernel for the op it leaves (the session fails). Max and reshape commute with
      // rounding, so reading the dequantized values loses nothing.
      skip(node, `onnxruntime has no 4-bit ${node.opType} kernel: it reads the dequantized values`);
    else if (!node.inputs.some(isFloatActivation)) skip(node, 'no float activation input');
    else if (node.opType === 'Transpose' && crossesSubgraph(node, graph))
      // onnxruntime 1.30's basic graph optimizations abort the process (a C++ assertion, not an
      // error) on QDQ around a Transpose that reads an If's output (Silero VAD at 16 kHz).
      skip(node, 'a Transpose exchanging values with an If/Loop/Scan body (onnxruntime aborts on its QDQ form)');
    else chosen.push(node);
  }
  return chosen;
}

/** Whether `node` exchanges values with a control-flow body: reads an If/Loop/Scan output, or is read inside one. */
function crossesSubgraph(node: Node, graph: Graph): boolean {
  if (node.inputs.some((v) => v?.producer()?.subgraphs().length)) return true;
  return node.outputs.some((o) => o.uses().some((u) => u.node.graph !== graph));
}

/** Activations to calibrate: float inputs and outputs of the chosen nodes (index inputs excepted). */
function activationsOf(chosen: readonly Node[], ioValues: readonly Value[]): Set<Value> {
  const activations = new Set<Value>();
  for (const n of chosen) {
    n.inputs.forEach((v, i) => {
      if (isFloatActivation(v) && !(n.opType === 'Gather' && i === 1) && !(n.opType === 'Where' && i === 0))
        activations.add(v);
    });
    for (const o of n.outputs) if (o.name && (o.dtype === undefined || o.dtype === 'float32')) activations.add(o);
  }
  for (const v of ioValues) activations.add(v);
  return activations;
}

function checkTypeOverrides(graph: Graph, overrides: Record<string, ActivationType | WeightType>): void {
  for (const [name, t] of Object.entries(overrides)) {
    const v = graph.findValue(name);
    const isWeight = !!v?.const;
    if (!v)
      throw new InvalidArgumentError(`typeOverrides['${name}']: the model has no tensor of that name`, 'typeOverrides');
    if (!(isWeight ? WEIGHT_TYPES : ACTIVATION_TYPES).includes(t))
      throw new InvalidArgumentError(
        `typeOverrides['${name}']: ${isWeight ? 'a weight' : 'an activation'} takes ${(isWeight ? WEIGHT_TYPES : ACTIVATION_TYPES).join(', ')}, got '${t}'`,
        'typeOverrides',
      );
  }
}

/** How each activation is quantized: its type, integer range, and scale and zero point. */
interface ActivationParams {
  typeOf(name: string): ActivationType;
  paramsOf(v: Value): { scale: number; zeroPoint: number };
}

function activationParams(
  options: StaticQuantizeOptions,
  actType: ActivationType,
  ranges: Map<string, TensorRange>,
): ActivationParams {
  const overrides = options.typeOverrides ?? {};
  const aRange = quantRange(actType, { symmetric: symmetricOf(options, actType) });
  const typeOf = (name: string) => (overrides[name] as ActivationType | undefined) ?? actType;
  const rangeOf = (name: string) =>
    overrides[name] ? quantRange(typeOf(name), { symmetric: symmetricOf(options, typeOf(name)) }) : aRange;
  for (const [name, p] of Object.entries(options.paramOverrides ?? {})) {
    const r = rangeOf(name);
    if (!(p.scale > 0) || !Number.isInteger(p.zeroPoint) || p.zeroPoint < r.qmin || p.zeroPoint > r.qmax)
      throw new InvalidArgumentError(
        `paramOverrides['${name}']: scale must be > 0 and zeroPoint an integer in [${r.qmin}, ${r.qmax}] for ${typeOf(name)}`,
        'paramOverrides',
      );
    // The range the parameters represent, so reports and fallbacks see it too.
    ranges.set(name, { min: (r.qmin - p.zeroPoint) * p.scale, max: (r.qmax - p.zeroPoint) * p.scale });
  }
  return {
    typeOf,
    paramsOf: (v) =>
      options.paramOverrides?.[v.name] ??
      computeScaleZeroPoint(
        ranges.get(v.name)!.min,
        ranges.get(v.name)!.max,
        rangeOf(v.name),
        symmetricOf(options, typeOf(v.name)),
      ),
  };
}

/**
 * One QuantizeLinear/DequantizeLinear pair per calibrated activation, read by its quantized
 * readers only. Returns the scale behind each DequantizeLinear output (for int32 biases).
 */
function insertActivationQdq(
  graph: Graph,
  activations: Set<Value>,
  chosen: readonly Node[],
  quantizable: (node: Node) => boolean,
  ranges: Map<string, TensorRange>,
  params: ActivationParams,
  result: StaticQuantizeResult,
  quantizeOutputs: boolean,
): Map<Value, number> {
  const isChosen = new Set(chosen);
  const dqScale = new Map<Value, number>();
  for (const v of activations) {
    const name = v.name;
    const r = ranges.get(name);
    if (!r) continue;
    result.ranges[name] = r;
    // onnxruntime runs DQ → op → Q as one integer kernel only when the Q is there: an integer-kernel
    // op's output is quantized even when its readers stay float (they read the dequantized value).
    const producer = v.producer();
    const integerOutput = !!producer && isChosen.has(producer) && INTEGER_KERNEL_OPS.has(producer.opType);
    // Readers of an op kind this pass never quantizes read the dequantized value; an excluded
    // reader (by the caller, or put back in float by the accuracy budget) keeps the float one.
    const readers = v
      .uses()
      .filter((u) => isChosen.has(u.node) || (integerOutput && u.node.graph === graph && !quantizable(u.node)));
    // A convolution or matrix product computing a model output runs as an integer kernel too; the
    // output is then dequantized from 8 bits (what onnxruntime's quantizer does as well).
    const graphOutput = integerOutput && quantizeOutputs && HEAVY_OPS.has(producer.opType) && graph.outputs.includes(v);
    if (!readers.length && !graphOutput) continue;
    const rw = new GraphBuilder(graph, v.name);
    const sz = params.paramsOf(v);
    const scale = rw.constant(`${v.name}_scale`, Tensor.from('float32', [], [sz.scale]));
    const zp = rw.constant(`${v.name}_zero_point`, quantTensor(params.typeOf(v.name), [], Int32Array.of(sz.zeroPoint)));
    const [q] = rw.op('QuantizeLinear', [v, scale, zp], {}, [`${v.name}_quantized`]);
    const [dq] = rw.op('DequantizeLinear', [q, scale, zp], {}, [`${v.name}_dequantized`]);
    // A model output keeps its name: the DequantizeLinear takes it over.
    insertOnEdge(v, rw.nodes, { uses: readers, graphOutputs: graphOutput });
    dqScale.set(dq, sz.scale);
    result.dequantizedNames[name] = dq.name;
  }
  return dqScale;
}

/** int32 bias at scale x_scale · w_scale (per channel when the weight is), zero point 0, behind a DequantizeLinear. */
function quantizeBias(rw: GraphBuilder, bias: Value, inputScale: number, weightScale: Float32Array): Value {
  const b = bias.const!.data as Float32Array;
  const perChannel = weightScale.length > 1;
  const bscale = Float32Array.from(b, (_, c) =>
    Math.fround(inputScale * (perChannel ? weightScale[c] : weightScale[0])),
  );
  const q = new Int32Array(b.length);
  for (let c = 0; c < b.length; c++)
    quantizeArray([b[c]], { scale: bscale[c], zeroPoint: 0 }, { qmin: -2147483648, qmax: 2147483647 }, q, c);
  const bq = rw.constant(`${bias.name}_quantized`, Tensor.from('int32', [b.length], q));
  const bs = rw.constant(
    `${bias.name}_scale`,
    perChannel ? Tensor.from('float32', [b.length], bscale) : Tensor.from('float32', [], [bscale[0]]),
  );
  return rw.op('DequantizeLinear', [bq, bs], perChannel ? { axis: 0 } : {}, [`${bias.name}_dequantized`])[0];
}

/** The node's constant weight (and bias, when its input is quantized) become integers behind DequantizeLinear. */
function quantizeNodeWeights(
  graph: Graph,
  node: Node,
  options: StaticQuantizeOptions,
  weightType: WeightType,
  dqScale: Map<Value, number>,
): void {
  const w = opEntry(WEIGHT_INPUT, node);
  const rw = new GraphBuilder(graph, node.name || node.opType);
  const weight = w && node.inputs[w.weight];
  if (w && weight?.const) {
    const preferred = options.perChannel ? w.axis(node) : undefined;
    const axis = preferred === -1 ? undefined : preferred;
    const wt = options.typeOverrides?.[weight.name] ?? weightType;
    const qw = quantizeWeight(weight.const, {
      type: wt,
      symmetric: !wt.startsWith('u'),
      reduceRange: options.reduceRange,
      axis,
    });
    const qv = rw.constant(`${weight.name}_quantized`, qw.quantized);
    const sv = rw.constant(`${weight.name}_scale`, qw.scale);
    const zv = rw.constant(`${weight.name}_zero_point`, qw.zeroPoint);
    const [wdq] = rw.op('DequantizeLinear', [qv, sv, zv], axis === undefined ? {} : { axis }, [
      `${weight.name}_dequantized`,
    ]);
    node.setInput(w.weight, wdq);
    const bias = w.bias !== undefined ? node.inputs[w.bias] : undefined;
    const inputScale = node.inputs[0] ? dqScale.get(node.inputs[0]) : undefined;
    if (bias?.const && bias.const.dtype === 'float32' && bias.const.dims.length === 1 && inputScale !== undefined)
      node.setInput(w.bias!, quantizeBias(rw, bias, inputScale, qw.scale.data));
  }
  quantizeConstantOperand(rw, node, dqScale);
  rw.insertBefore(node);
}

/**
 * Quantize the main graph statically, in place.
 *
 * @example
 * ```ts
 * const report = await quantizeStatic(model, { calibrationData: samples, backend: new NodeBackend(), perChannel: true });
 * ```
 */
export async function quantizeStatic(model: Model, options: StaticQuantizeOptions): Promise<StaticQuantizeResult> {
  validateStaticOptions(options);
  const actType = options.activationType ?? 'uint8';
  const weightType = defaultWeightType(actType, options.weightType);
  checkOpset(model, options, actType, weightType);
  const graph = model.graph;
  const result: StaticQuantizeResult = { quantized: [], skipped: [], ranges: {}, dequantizedNames: {} };
  if (lowersHardActivations(options, actType)) lowerHardActivations(graph, options.exclude);
  const chosen = chooseNodes(graph, options, result);
  checkFourBitConvWeights(
    chosen,
    (v) => options.typeOverrides?.[v.name] ?? actType,
    (w) => options.typeOverrides?.[w.name] ?? weightType,
  );
  const ioValues = options.fullInteger
    ? [
        ...graph.inputs.filter((v) => !v.const && v.dtype === 'float32'),
        ...graph.outputs.filter((v) => v.dtype === 'float32'),
      ]
    : [];
  const activations = activationsOf(chosen, ioValues);
  checkTypeOverrides(graph, options.typeOverrides ?? {});
  const names = [...activations].map((v) => v.name).filter((n) => !options.rangeOverrides?.[n]);
  const ranges = names.length
    ? await calibrate(model, options.calibrationData, options.backend, names, options)
    : new Map<string, TensorRange>();
  for (const [n, r] of Object.entries(options.rangeOverrides ?? {})) ranges.set(n, r);
  result.calibratedRanges = Object.fromEntries(ranges);
  const params = activationParams(options, actType, ranges);
  if (isUnsigned(actType))
    fuseActivations(graph, chosen, activations, ranges, result, (name) => isUnsigned(params.typeOf(name)));
  fixOutputRanges(chosen, ranges, options.paramOverrides, (name) => {
    const type = params.typeOf(name);
    return { type, symmetric: symmetricOf(options, type) };
  });
  const fixed = (name: string) => !!options.paramOverrides?.[name];
  shareScales(chosen, ranges, (a, b) => !fixed(a) && !fixed(b) && params.typeOf(a) === params.typeOf(b));
  const ops = new Set<string>(options.opTypes ?? STATIC_OPS);
  const quantizable = (n: Node) => ops.has(n.opType) && isDefaultDomain(n);
  const dqScale = insertActivationQdq(
    graph,
    activations,
    chosen,
    quantizable,
    ranges,
    params,
    result,
    !options.fullInteger,
  );
  result.quantized.push(...absorbScalarMuls(graph, chosen, dqScale, result.dequantizedNames));
  // Before the weights: a bias whose input the guard leaves float stays float too.
  result.skipped.push(...guardFourBitActivations(graph, result));
  for (const node of chosen) {
    if (!node.graph) continue;
    quantizeNodeWeights(graph, node, options, weightType, dqScale);
    result.quantized.push({ name: node.name, opType: node.opType });
  }
  if (options.fullInteger) makeFullInteger(model, ioValues, ranges, actType, symmetricOf(options, actType));
  eliminateDeadCode(graph);
  graph.sortTopologically();
  if (options.format === 'qoperator') qdqToQOperator(model);
  return result;
}

/** Swap float inputs and outputs for integer ones of the same names, recording their parameters. */
function makeFullInteger(
  model: Model,
  io: Value[],
  ranges: Map<string, TensorRange>,
  actType: ActivationType,
  symmetric: boolean,
): void {
  const graph = model.graph;
  const aRange = quantRange(actType, { symmetric });
  for (const v of io) {
    const r = ranges.get(v.name);
    if (!r) continue;
    const sz = computeScaleZeroPoint(r.min, r.max, aRange, symmetric);
    model.metadata.set(
      `edgeml.quantization.${v.name}`,
      JSON.stringify({ scale: sz.scale, zeroPoint: sz.zeroPoint, type: actType }),
    );
    const name = v.name;
    const shape = v.shape;
    const rw = new GraphBuilder(graph, name);
    const scale = rw.constant(`${name}_io_scale`, Tensor.from('float32', [], [sz.scale]));
    const zp = rw.constant(`${name}_io_zero_point`, quantTensor(actType, [], Int32Array.of(sz.zeroPoint)));
    if (graph.inputs.includes(v)) {
      // New integer input under the old name; a DequantizeLinear feeds everything that read the float one.
      const first = graph.nodes.find((n) => n.inputs.includes(v));
      if (!first) continue;
      v.name = graph.names.value(`${name}_float`);
      const qin = graph.addInput(name, { kind: 'tensor', dtype: actType, shape });
      const [dq] = rw.op('DequantizeLinear', [qin, scale, zp], {}, [`${name}_dequantized_input`]);
      rw.insertBefore(first);
      v.replaceAllUsesWith(dq);
      graph.inputs.splice(graph.inputs.indexOf(v), 1);
    } else if (v.producer()) {
      // The float value keeps flowing inside; a QuantizeLinear produces the integer output under the old name.
      const [q] = rw.op('QuantizeLinear', [v, scale, zp], {}, [`${name}_quantized_output`]);
      q.type = { kind: 'tensor', dtype: actType, shape };
      insertOnEdge(v, rw.nodes, { uses: [] });
    }
  }
}

export type { QuantType };
