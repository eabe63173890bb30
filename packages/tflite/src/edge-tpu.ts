/**
 * The Edge TPU compiler's model requirements (coral.ai, "TensorFlow models on the Edge TPU"),
 * checked on a written graph. What the compiler does not accept it maps to the CPU, from the
 * first unsupported operator on: a model still runs, slower. Checked here: every tensor 8-bit
 * quantized (float I/O only through a QUANTIZE at the start and a DEQUANTIZE at the end),
 * static shapes, batch 1, tensors of at most 3 dimensions larger than 1 (the innermost), the
 * operators of coral.ai's table and their limits that the file shows (no fused activation on
 * pools and concatenations; MEAN and PAD along height and width only), and parameter data
 * against the on-chip memory (about 8 MB; more is streamed from the host each inference).
 * Not checkable without the compiler: which ops it maps for a given size (RESIZE_BILINEAR, for one).
 */
import type { TfliteGraph } from './tflite-graph.js';
import { Activation, TensorType } from './schema.js';

/** Operators of coral.ai's table of ops the Edge TPU runs (those this exporter writes). */
export const EDGE_TPU_OPERATORS: readonly string[] = [
  'ADD',
  'AVERAGE_POOL_2D',
  'CONCATENATION',
  'CONV_2D',
  'DEPTHWISE_CONV_2D',
  'FULLY_CONNECTED',
  'LOGISTIC',
  'MAXIMUM',
  'MAX_POOL_2D',
  'MEAN',
  'MINIMUM',
  'MUL',
  'PAD',
  'PRELU',
  'QUANTIZE',
  'DEQUANTIZE',
  'REDUCE_MAX',
  'REDUCE_MIN',
  'RELU',
  'RELU6',
  'RELU_N1_TO_1',
  'RESHAPE',
  'RESIZE_BILINEAR',
  'RESIZE_NEAREST_NEIGHBOR',
  'RSQRT',
  'SOFTMAX',
  'SPACE_TO_DEPTH',
  'SPLIT',
  'STRIDED_SLICE',
  'SUB',
  'SUM',
  'SQUARED_DIFFERENCE',
  'TANH',
  'TRANSPOSE',
  'TRANSPOSE_CONV',
];

/** About the Edge TPU's on-chip parameter memory, in bytes. */
export const EDGE_TPU_PARAMETER_BYTES = 8 * 1024 * 1024;

/** One requirement and whether the file meets it. */
export interface EdgeTpuRequirement {
  requirement: string;
  met: boolean;
  /** What breaks it (tensors or operators, the first few), or a figure. */
  detail?: string;
}

/** Which Edge TPU requirements an exported file meets (`TfliteExportReport.edgeTpu`). */
export interface EdgeTpuReport {
  /** Every requirement met: the compiler can map the whole graph. */
  meets: boolean;
  requirements: EdgeTpuRequirement[];
  /** Weight tensors with one scale per channel (the compiler takes them from version 2.1 on). */
  perChannelWeights: number;
  parameterBytes: number;
}

const EIGHT_BIT = new Set<number>([TensorType.INT8, TensorType.UINT8]);
const NO_FUSED: ReadonlySet<string> = new Set(['AVERAGE_POOL_2D', 'MAX_POOL_2D', 'CONCATENATION']);
const list = (items: string[]) =>
  items.length > 4 ? `${items.slice(0, 4).join(', ')}, … (${items.length})` : items.join(', ');
const requirement = (text: string, broken: string[], detail?: string): EdgeTpuRequirement => ({
  requirement: text,
  met: broken.length === 0,
  ...(broken.length ? { detail: list(broken) } : detail ? { detail } : {}),
});

/** Which Edge TPU requirements the graph meets (every export reports it as `report.edgeTpu`). */
export function checkEdgeTpu(graph: TfliteGraph, inputs: readonly number[], outputs: readonly number[]): EdgeTpuReport {
  const ops = graph.operators;
  const edges = new Set<number>();
  for (const op of ops) {
    if (op.op === 'QUANTIZE' && inputs.includes(op.inputs[0])) edges.add(op.inputs[0]);
    if (op.op === 'DEQUANTIZE' && outputs.includes(op.outputs[0])) edges.add(op.outputs[0]);
  }
  const touched = [...new Set(ops.flatMap((op) => [...op.inputs, ...op.outputs]))].filter((i) => i >= 0);
  const notQuantized = touched.filter((i) => {
    const t = graph.tensors[i];
    if (edges.has(i) || EIGHT_BIT.has(t.type)) return false;
    // int32 biases and shape/axis constants are parameters, not activations.
    return !(t.type === TensorType.INT32 && graph.isConstant(i));
  });
  const name = (i: number) => graph.tensors[i].name;
  const deep = touched.filter((i) => graph.tensors[i].shape.slice(0, -3).some((d) => d > 1));
  const unsupported = [...new Set(ops.map((op) => op.op).filter((op) => !EDGE_TPU_OPERATORS.includes(op)))];
  const limits = ops.flatMap((op) => {
    const fused = op.options?.values.fused_activation_function;
    if (NO_FUSED.has(op.op) && fused !== undefined && fused !== Activation.NONE)
      return [`${op.op} with a fused activation`];
    if (op.op === 'MEAN' || op.op === 'PAD') {
      const spatial = op.op === 'MEAN' ? meanAlongSpatial(graph, op.inputs) : padAlongSpatial(graph, op.inputs);
      if (!spatial) return [`${op.op} of '${name(op.outputs[0])}' beyond height and width`];
    }
    return [];
  });
  const constants = graph.tensors.map((_, i) => i).filter((i) => graph.isConstant(i));
  const parameterBytes = constants.reduce((n, i) => n + graph.constantBytes(i).byteLength, 0);
  const requirements = [
    requirement(
      '8-bit quantized tensors (float I/O only through QUANTIZE/DEQUANTIZE at the ends)',
      notQuantized.map(name),
    ),
    requirement('static shapes', touched.filter((i) => graph.tensors[i].shape.some((d) => d < 0)).map(name)),
    requirement('batch 1', inputs.filter((i) => (graph.tensors[i].shape[0] ?? 1) !== 1).map(name)),
    requirement('at most 3 dimensions larger than 1, the innermost', deep.map(name)),
    requirement("only operators of coral.ai's Edge TPU table", unsupported),
    requirement("operator limits of coral.ai's table", [...new Set(limits)]),
    requirement(
      'parameters fit the on-chip memory (about 8 MB)',
      parameterBytes > EDGE_TPU_PARAMETER_BYTES ? [`${parameterBytes} bytes of parameters`] : [],
      `${parameterBytes} bytes`,
    ),
  ];
  const perChannelWeights = constants.filter((i) => (graph.tensors[i].quantization?.scale.length ?? 0) > 1).length;
  return { meets: requirements.every((r) => r.met), requirements, perChannelWeights, parameterBytes };
}

const int32Values = (graph: TfliteGraph, index: number) => {
  const bytes = Uint8Array.from(graph.constantBytes(index));
  return Array.from(new Int32Array(bytes.buffer));
};

/** A 4-D MEAN reducing axes 1 and 2 only (NHWC height and width). */
function meanAlongSpatial(graph: TfliteGraph, inputs: number[]): boolean {
  if (graph.tensors[inputs[0]].shape.length !== 4 || !graph.isConstant(inputs[1])) return false;
  return int32Values(graph, inputs[1]).every((a) => a === 1 || a === 2);
}

/** A PAD adding only along axes 1 and 2 of a 4-D tensor. */
function padAlongSpatial(graph: TfliteGraph, inputs: number[]): boolean {
  if (graph.tensors[inputs[0]].shape.length !== 4 || !graph.isConstant(inputs[1])) return false;
  const pads = int32Values(graph, inputs[1]);
  return [0, 1, 6, 7].every((i) => pads[i] === 0);
}
