/**
 * The one typed home of operator names and their attribute shapes (as tfjs keeps
 * kernel_names.ts): each entry lists an op's attributes and their kinds, and the types
 * used across EdgeML are derived from this table.
 */
import { InvalidArgumentError } from '../errors.js';
import type { AttributeKind, AttributeValueMap } from '../ir/attribute.js';
import type { Node } from '../ir/node.js';
import { ONNX_OPS, type OpName } from './op-names.js';

const conv = {
  auto_pad: 'string',
  dilations: 'ints',
  group: 'int',
  kernel_shape: 'ints',
  pads: 'ints',
  strides: 'ints',
} as const;
const pool = {
  auto_pad: 'string',
  ceil_mode: 'int',
  dilations: 'ints',
  kernel_shape: 'ints',
  pads: 'ints',
  strides: 'ints',
  count_include_pad: 'int',
  storage_order: 'int',
} as const;
const reduce = { axes: 'ints', keepdims: 'int', noop_with_empty_axes: 'int' } as const;
const rnn = {
  activation_alpha: 'floats',
  activation_beta: 'floats',
  activations: 'strings',
  clip: 'float',
  direction: 'string',
  hidden_size: 'int',
  layout: 'int',
  linear_before_reset: 'int',
  input_forget: 'int',
} as const;

/** Attribute kinds of the default-domain ops EdgeML reasons about. */
export const OP_ATTRIBUTES = {
  Add: {},
  Sub: {},
  Mul: {},
  Div: {},
  Pow: {},
  MatMul: {},
  Relu: {},
  Sigmoid: {},
  Tanh: {},
  Identity: {},
  Shape: { start: 'int', end: 'int' },
  Conv: conv,
  ConvTranspose: { ...conv, output_padding: 'ints', output_shape: 'ints' },
  MaxPool: pool,
  AveragePool: pool,
  LpPool: { ...pool, p: 'int' },
  GlobalAveragePool: {},
  GlobalMaxPool: {},
  Gemm: { alpha: 'float', beta: 'float', transA: 'int', transB: 'int' },
  BatchNormalization: { epsilon: 'float', momentum: 'float', training_mode: 'int' },
  LayerNormalization: { axis: 'int', epsilon: 'float', stash_type: 'int' },
  InstanceNormalization: { epsilon: 'float' },
  LeakyRelu: { alpha: 'float' },
  Elu: { alpha: 'float' },
  Selu: { alpha: 'float', gamma: 'float' },
  HardSigmoid: { alpha: 'float', beta: 'float' },
  Gelu: { approximate: 'string' },
  Clip: { min: 'float', max: 'float' },
  Softmax: { axis: 'int' },
  LogSoftmax: { axis: 'int' },
  Cast: { to: 'int', saturate: 'int' },
  Reshape: { allowzero: 'int', shape: 'ints' },
  Flatten: { axis: 'int' },
  Transpose: { perm: 'ints' },
  Concat: { axis: 'int' },
  Split: { axis: 'int', split: 'ints', num_outputs: 'int' },
  Slice: { starts: 'ints', ends: 'ints', axes: 'ints' },
  Squeeze: { axes: 'ints' },
  Unsqueeze: { axes: 'ints' },
  Gather: { axis: 'int' },
  Pad: { mode: 'string', pads: 'ints', value: 'float' },
  Resize: {
    mode: 'string',
    coordinate_transformation_mode: 'string',
    nearest_mode: 'string',
    cubic_coeff_a: 'float',
    exclude_outside: 'int',
    extrapolation_value: 'float',
    antialias: 'int',
    axes: 'ints',
    keep_aspect_ratio_policy: 'string',
  },
  ReduceMean: reduce,
  ReduceSum: reduce,
  ReduceMax: reduce,
  ReduceMin: reduce,
  ReduceProd: reduce,
  LSTM: rnn,
  GRU: rnn,
  RNN: rnn,
  Constant: {
    value: 'tensor',
    value_float: 'float',
    value_floats: 'floats',
    value_int: 'int',
    value_ints: 'ints',
    value_string: 'string',
    value_strings: 'strings',
    sparse_value: 'sparse_tensor',
  },
  ConstantOfShape: { value: 'tensor' },
  If: { then_branch: 'graph', else_branch: 'graph' },
  Loop: { body: 'graph' },
  Scan: {
    body: 'graph',
    num_scan_inputs: 'int',
    scan_input_axes: 'ints',
    scan_input_directions: 'ints',
    scan_output_axes: 'ints',
    scan_output_directions: 'ints',
  },
  QuantizeLinear: { axis: 'int', block_size: 'int', output_dtype: 'int', saturate: 'int' },
  DequantizeLinear: { axis: 'int', block_size: 'int' },
} as const satisfies Partial<Record<OpName, Record<string, AttributeKind>>>;

/** An op with a typed attribute table. */
export type TypedOpName = keyof typeof OP_ATTRIBUTES;

/** The attributes of an op, typed from the table (all optional: ONNX gives defaults). */
export type OpAttributes<O extends TypedOpName> = {
  -readonly [A in keyof (typeof OP_ATTRIBUTES)[O]]?: (typeof OP_ATTRIBUTES)[O][A] extends AttributeKind
    ? AttributeValueMap[(typeof OP_ATTRIBUTES)[O][A]]
    : never;
};

/** Op names as constants, so call sites cannot misspell them. */
export const Op = Object.fromEntries(ONNX_OPS.map((k) => [k, k])) as { readonly [K in OpName]: K };

/**
 * True for the default ONNX domain, which models spell '' or 'ai.onnx': the one place that
 * knows both spellings.
 *
 * @example
 * ```ts
 * if (!isDefaultDomain(node)) continue; // com.microsoft and custom ops are not ours to rewrite
 * ```
 */
export function isDefaultDomain(nodeOrDomain: Pick<Node, 'domain'> | string): boolean {
  const domain = typeof nodeOrDomain === 'string' ? nodeOrDomain : nodeOrDomain.domain;
  return domain === '' || domain === 'ai.onnx';
}

/** True when `node` is the default-domain op `op`. */
export function isOp<O extends OpName>(node: Node, op: O): boolean {
  return node.opType === op && isDefaultDomain(node);
}

/**
 * A node's attributes as a typed object, checked against the table: an attribute of the
 * wrong kind is an InvalidArgumentError naming the node.
 *
 * @example
 * ```ts
 * const { strides = [1, 1], group = 1 } = opAttributes(node, 'Conv');
 * ```
 */
export function opAttributes<O extends TypedOpName>(node: Node, op: O): OpAttributes<O> {
  const table = OP_ATTRIBUTES[op] as Record<string, AttributeKind>;
  const out: Record<string, unknown> = {};
  for (const [name, a] of node.attributes) {
    const kind = table[name];
    if (kind === undefined || a.value === undefined) continue;
    if (a.kind !== kind)
      throw new InvalidArgumentError(
        `node '${node.name || node.opType}': attribute '${name}' of ${op} should be ${kind}, found ${a.kind}`,
        name,
      );
    out[name] = a.value;
  }
  return out as OpAttributes<O>;
}
