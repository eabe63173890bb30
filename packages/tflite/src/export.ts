/**
 * ONNX model → .tflite bytes: the model is simplified first (constants folded with the static
 * shapes given, BatchNorm and per-channel affines folded into Convs), then lowered node by node
 * to TFLite builtin operators in NHWC, and written as a TFLite flatbuffer.
 */
import { InvalidArgumentError, inferShapes, prepare, type Model, type Tensor, type Value } from '@edgeml/core';
import { ExportContext } from './context.js';
import { quantizeWeightsDynamic } from './dynamic-range.js';
import { TFLITE_IO_TYPES, makeFullInteger, type TfliteIoType } from './full-integer.js';
import { foldQdq, isQdqModel } from './qdq.js';
import { checkEdgeTpu, type EdgeTpuReport } from './edge-tpu.js';
import { TensorType } from './schema.js';
import { channelsLast, identityPerm } from './layout.js';
import { lowerNodes, outputTensors } from './lower-graph.js';
import { requireTensorType } from './tflite-graph.js';
import { simplifyForExport } from './simplify-for-export.js';
import { checkFullIntegerControlFlow } from './int8-control-flow.js';

/** The precisions {@link exportTflite} writes. */
export const TFLITE_QUANTIZATIONS = ['none', 'fp16', 'dynamic', 'int8'] as const;
export type TfliteExportQuantization = (typeof TFLITE_QUANTIZATIONS)[number];

/** The layouts of 4-D inputs and outputs {@link exportTflite} writes. */
export const TFLITE_IO_LAYOUTS = ['nchw', 'nhwc'] as const;
export type TfliteIoLayout = (typeof TFLITE_IO_LAYOUTS)[number];

/** Options of {@link exportTflite}. */
export interface TfliteExportOptions {
  /** Static shapes for inputs with dynamic dimensions, e.g. `{ x: [1, 3, 224, 224] }`: TFLite needs static shapes. */
  shapes?: Record<string, readonly number[]>;
  /**
   * 'nchw' (default): inputs and outputs keep the ONNX model's shapes and layouts, with a
   * TRANSPOSE at the edges; 'nhwc': 4-D float inputs and outputs are NHWC, as Android's
   * TensorImage and most TFLite tooling expect.
   */
  ioLayout?: TfliteIoLayout;
  /**
   * 'none' (default): float32 weights; 'fp16': float16 weights widened by DEQUANTIZE, as TFLite's
   * float16 quantization; 'dynamic': int8 weights (per output channel) of convolutions and
   * fully-connected layers with activations in float32, TFLite's dynamic-range quantization;
   * 'int8': full-integer int8 (per-channel int8 weights, int8 activations, int32 biases), from
   * a QDQ model: the scales and zero points are those of its QuantizeLinear/DequantizeLinear
   * pairs. Make it with @edgeml/quantize's static mode (`activationType: 'int8'`,
   * `activationSymmetric: false`, `perChannel: true`, `opTypes: TFLITE_STATIC_OPS`) on
   * representative data, what TFLiteConverter's representative dataset is for; this package
   * does not import @edgeml/quantize (DESIGN.md: packages depend on core only), and
   * `edgeml export --quantize int8 --calibration dir` composes the two.
   */
  quantize?: TfliteExportQuantization;
  /**
   * Inputs fixed to a value, e.g. `{ sr: Tensor.from('int64', [], [16000n]) }`: they become
   * constants, what depends on them folds, and an If on them is replaced by the branch it takes
   * (core's `prepare` with `specialize`), so the .tflite has no such input. Silero VAD's network
   * sits in an If on its sample rate; fixed, it exports as a plain graph.
   */
  specialize?: Record<string, Tensor>;
  /**
   * With quantize 'int8': 'float32' (default) keeps float inputs and outputs (QUANTIZE and
   * DEQUANTIZE inside, as TFLiteConverter's defaults); 'int8' and 'uint8' make them integer,
   * with their scale and zero point in the tensors' quantization parameters (as the
   * converter's `inference_input_type` / `inference_output_type`; what the Edge TPU and
   * microcontrollers take).
   */
  ioType?: TfliteIoType;
  /**
   * With quantize 'int8': an op that has no int8 kernel in TFLite (SQRT, LOG, DIV, CAST, …) or
   * no calibrated range (the steps inside a LayerNormalization's lowering) runs in float between
   * a DEQUANTIZE of its int8 inputs and a QUANTIZE of its outputs, as TFLiteConverter's default
   * op set does, instead of being an UnsupportedOpError (`TFLITE_BUILTINS_INT8`, the default
   * false). The file is then no longer full-integer: the Edge TPU and int8-only runtimes refuse
   * it; `report.floatOperators` lists what runs in float.
   */
  floatFallback?: boolean;
}

/** One input or output of the written .tflite. */
export interface TfliteIo {
  name: string;
  dtype: string;
  /** The .tflite tensor's shape. */
  shape: number[];
  layout: 'as ONNX' | 'nhwc';
  /** Integer inputs and outputs (ioType int8/uint8): `real = scale · (q − zeroPoint)`. */
  quantization?: { scale: number; zeroPoint: number };
}

/** What {@link exportTflite} did. */
export interface TfliteExportReport {
  /** Rewrites made while simplifying before the export, by name (constant folding, BatchNorm folding, …). */
  prepared: Record<string, number>;
  /** How ONNX ops were lowered and fused, by description, with counts. */
  lowered: Record<string, number>;
  /** TFLite builtin operators of the written file, by name. */
  opCounts: Record<string, number>;
  /** TRANSPOSE operators in the file (only at the edges for a CNN with ONNX-layout I/O). */
  transposes: number;
  /** float32 constants stored as float16 (quantize 'fp16'). */
  float16Weights: number;
  /** Weight tensors stored as per-channel int8 (quantize 'dynamic' and 'int8'). */
  int8Weights: number;
  /** Tensors stored as int8, activations and weights (quantize 'int8'). */
  int8Tensors: number;
  /** QUANTIZE operators requantizing an activation to the scale its reader's int8 kernel requires (quantize 'int8'). */
  requantized: number;
  /** floatFallback: operators left in float between DEQUANTIZE and QUANTIZE, by operator (empty when none). */
  floatOperators: Record<string, number>;
  /** Element type of the float inputs and outputs in the file (ioType). */
  ioType: TfliteIoType;
  inputs: TfliteIo[];
  outputs: TfliteIo[];
  sizeBytes: number;
  /** Which of the Edge TPU compiler's requirements the file meets (see the guide's "Edge TPU"). */
  edgeTpu: EdgeTpuReport;
}

export interface TfliteExportResult {
  /** The .tflite file's bytes. */
  bytes: Uint8Array;
  report: TfliteExportReport;
}

function checkOptions(options: TfliteExportOptions): void {
  if (options.ioLayout !== undefined && !TFLITE_IO_LAYOUTS.includes(options.ioLayout))
    throw new InvalidArgumentError(
      `ioLayout must be one of ${TFLITE_IO_LAYOUTS.join(', ')}, got '${String(options.ioLayout)}'`,
      'ioLayout',
    );
  if (options.quantize !== undefined && !TFLITE_QUANTIZATIONS.includes(options.quantize))
    throw new InvalidArgumentError(
      `quantize must be one of ${TFLITE_QUANTIZATIONS.join(', ')}, got '${String(options.quantize)}'`,
      'quantize',
    );
  if (options.ioType !== undefined && !TFLITE_IO_TYPES.includes(options.ioType))
    throw new InvalidArgumentError(
      `ioType must be one of ${TFLITE_IO_TYPES.join(', ')}, got '${String(options.ioType)}'`,
      'ioType',
    );
  if ((options.ioType ?? 'float32') !== 'float32' && options.quantize !== 'int8')
    throw new InvalidArgumentError(
      `ioType '${options.ioType}' needs quantize 'int8': integer inputs and outputs carry an int8 model's scales`,
      'ioType',
    );
  if (options.floatFallback && options.quantize !== 'int8')
    throw new InvalidArgumentError(
      "floatFallback needs quantize 'int8': it leaves in float what the int8 export cannot quantize",
      'floatFallback',
    );
}

/** The float model to lower and, for quantize 'int8', its activations' scales and zero points. */
function sourceModel(model: Model, options: TfliteExportOptions) {
  if (options.quantize !== 'int8') return { model, activations: undefined };
  if (!isQdqModel(model))
    throw new InvalidArgumentError(
      "quantize 'int8' exports a QDQ model: quantize it first with @edgeml/quantize's static mode (activationType 'int8', activationSymmetric false, perChannel, opTypes TFLITE_STATIC_OPS) on representative inputs, or run `edgeml export --quantize int8 --calibration <dir>`, which does",
      'quantize',
    );
  return foldQdq(model);
}

const nhwcIo = (options: TfliteExportOptions, v: Value, rank: number) =>
  options.ioLayout === 'nhwc' && rank === 4 && v.dtype === 'float32';

/**
 * Export an ONNX model to TFLite. The input model is not modified.
 *
 * @example
 * ```ts
 * const { bytes, report } = await exportTflite(model, { shapes: { x: [1, 3, 224, 224] } });
 * console.log(report.opCounts); // e.g. { TRANSPOSE: 2, CONV_2D: 20, DEPTHWISE_CONV_2D: 13, … }
 * ```
 */
export async function exportTflite(model: Model, options: TfliteExportOptions = {}): Promise<TfliteExportResult> {
  checkOptions(options);
  const specialized = options.specialize ? prepare(model, { specialize: options.specialize }) : undefined;
  // Before "quantize it first": quantizing would not help a model whose network sits in a branch.
  // With floatFallback an If or Loop runs in float (its subgraphs never see int8), so it passes.
  if (options.quantize === 'int8' && !options.floatFallback)
    await checkFullIntegerControlFlow(specialized?.model ?? model, { shapes: options.shapes });
  const source = sourceModel(specialized?.model ?? model, options);
  const { model: simple, report: simplified } = await simplifyForExport(source.model, options);
  const prepared = { ...simplified.rewrites };
  for (const step of specialized?.prepared ?? []) prepared[step.step] = (prepared[step.step] ?? 0) + step.count;
  inferShapes(simple, { strict: false });
  const graph = simple.graph;
  const ctx = new ExportContext(simple.opset('') ?? 1, graph.outputs);
  ctx.activationQuantization = source.activations;
  const inputs = graph.inputs.filter((v) => !graph.initializers.has(v.name));
  let inputTensors = inputs.map((v) => {
    const rank = ctx.rank(v);
    return ctx.define(v, nhwcIo(options, v, rank) ? channelsLast(rank) : identityPerm(rank));
  });
  lowerNodes(graph, ctx, (domain) => simple.opset(domain));
  let outputs = outputTensors(ctx, graph.outputs, new Set(inputTensors), (v) => {
    const rank = ctx.rank(v);
    return nhwcIo(options, v, rank) ? channelsLast(rank) : identityPerm(rank);
  });
  // Weights of IF branches are converted as the main graph's are.
  const graphs = [ctx.graph, ...ctx.graph.subgraphs];
  const sum = (f: (g: (typeof graphs)[number]) => number) => graphs.reduce((n, g) => n + f(g), 0);
  const float16Weights = options.quantize === 'fp16' ? sum((g) => g.storeWeightsAsFloat16()) : 0;
  let int8Weights = options.quantize === 'dynamic' ? sum(quantizeWeightsDynamic) : 0;
  const integer =
    options.quantize === 'int8'
      ? makeFullInteger(ctx.graph, inputTensors, outputs, options.ioType, options.floatFallback)
      : undefined;
  if (integer) {
    inputTensors = integer.inputs;
    outputs = integer.outputs;
    int8Weights = ctx.graph.tensors.filter(
      (t, i) => t.type === TensorType.INT8 && t.quantization?.scale.length !== 1 && ctx.graph.isConstant(i),
    ).length;
  }
  const bytes = ctx.graph.toBytes(inputTensors, outputs, {
    name: graph.name || 'main',
    description: `EdgeML export of ${model.producerName || 'an ONNX model'} (${graph.name || 'main'})`,
    signatureNames: { inputs: inputs.map((v) => v.name), outputs: graph.outputs.map((v) => v.name) },
  });
  const opCounts: Record<string, number> = {};
  for (const g of graphs) for (const op of g.operators) opCounts[op.op] = (opCounts[op.op] ?? 0) + 1;
  const io = (v: Value, index: number): TfliteIo => {
    requireTensorType(v.dtype ?? 'float32', 'Input', v.name);
    const t = ctx.graph.tensors[index];
    const integerIo = t.type === TensorType.INT8 || (t.type === TensorType.UINT8 && v.dtype === 'float32');
    return {
      name: v.name,
      dtype: integerIo ? (t.type === TensorType.INT8 ? 'int8' : 'uint8') : (v.dtype ?? 'float32'),
      shape: [...t.shape],
      layout: nhwcIo(options, v, ctx.rank(v)) ? 'nhwc' : 'as ONNX',
      ...(integerIo && t.quantization
        ? { quantization: { scale: t.quantization.scale[0], zeroPoint: t.quantization.zeroPoint[0] } }
        : {}),
    };
  };
  return {
    bytes,
    report: {
      prepared,
      lowered: Object.fromEntries(ctx.tally),
      opCounts,
      transposes: opCounts.TRANSPOSE ?? 0,
      float16Weights,
      int8Weights,
      int8Tensors: integer?.int8Tensors ?? 0,
      requantized: integer?.requantized ?? 0,
      floatOperators: integer?.floatOperators ?? {},
      ioType: options.ioType ?? 'float32',
      inputs: inputs.map((v, i) => io(v, inputTensors[i])),
      outputs: graph.outputs.map((v, i) => io(v, outputs[i])),
      sizeBytes: bytes.byteLength,
      edgeTpu: checkEdgeTpu(ctx.graph, inputTensors, outputs),
    },
  };
}
