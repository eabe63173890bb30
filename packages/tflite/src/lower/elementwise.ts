/**
 * Layout-neutral ops: activations, unary math and broadcasting binary ops run in whatever
 * layout their input already has (constants are laid out to match at export time), so NHWC
 * flows through them untouched. Add/Sub/Mul/Div take a following Relu/Clip as a fused activation.
 */
import { Tensor, type Node, type Value } from '@edgeml/core';
import { clipBounds, type ExportContext } from '../context.js';
import { identityPerm, physicalAxis, type Perm } from '../layout.js';
import { Activation, type BuiltinOperatorName, type BuiltinOptionsName } from '../schema.js';

/** The layout the inputs of an op producing `out` are brought to: the first computed input's of full rank. */
export function sharedPerm(ctx: ExportContext, inputs: readonly (Value | undefined)[], rank: number): number[] {
  for (const v of inputs) if (v && !v.const && ctx.rank(v) === rank) return ctx.placement(v).perm;
  return identityPerm(rank);
}

const UNARY: Record<string, BuiltinOperatorName> = {
  Relu: 'RELU',
  Sigmoid: 'LOGISTIC',
  Tanh: 'TANH',
  HardSwish: 'HARD_SWISH',
  Exp: 'EXP',
  Log: 'LOG',
  Abs: 'ABS',
  Neg: 'NEG',
  Sqrt: 'SQRT',
  Floor: 'FLOOR',
  Ceil: 'CEIL',
  Sin: 'SIN',
  Cos: 'COS',
  Round: 'ROUND',
  Sign: 'SIGN',
  Elu: 'ELU',
  Gelu: 'GELU',
  LeakyRelu: 'LEAKY_RELU',
  Not: 'LOGICAL_NOT',
};

/** Unary ops: one TFLite op each, in the input's layout. */
export function lowerUnary(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const op = UNARY[node.opType];
  const perm = ctx.placement(x).perm;
  let optionsType: BuiltinOptionsName | undefined;
  let options: Record<string, number | boolean> = {};
  if (node.opType === 'Elu' && node.attr('alpha', 'float', 1) !== 1)
    ctx.unsupported(node, `alpha ${node.attr('alpha', 'float', 1)}: TFLite's ELU has alpha 1`);
  if (node.opType === 'LeakyRelu') {
    optionsType = 'LeakyReluOptions';
    options = { alpha: node.attr('alpha', 'float', 0.01) };
  } else if (node.opType === 'Gelu') {
    optionsType = 'GeluOptions';
    options = { approximate: node.attr('approximate', 'string', 'none') === 'tanh' };
  } else if (node.opType === 'HardSwish') optionsType = 'HardSwishOptions';
  const input = ctx.tensor(x, perm);
  ctx.emit(op, [input], [ctx.define(node.outputs[0], perm)], optionsType, options);
}

/** Identity and Dropout (inference: the input as it is). */
export function lowerIdentity(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  if (x.const) ctx.place(node.outputs[0], { tensor: ctx.tensor(x), perm: identityPerm(x.const.dims.length) });
  else ctx.place(node.outputs[0], ctx.placement(x));
  if (node.outputs[1] && (node.outputs[1].uses().length || ctx.isGraphOutput(node.outputs[1])))
    ctx.unsupported(node, 'its mask output is used');
  const training = node.opType === 'Dropout' ? node.inputs[2] : undefined;
  if (training && (!training.const || training.const.toNumbers()[0] !== 0))
    ctx.unsupported(node, 'training mode: the export is for inference, where Dropout passes its input');
}

/** Clip: RELU, RELU6 or RELU_N1_TO_1 where the bounds are theirs, MAXIMUM/MINIMUM otherwise (computed bounds too). */
export function lowerClip(node: Node, ctx: ExportContext): void {
  const [lo, hi] = clipBounds(node);
  const x = node.inputs[0]!;
  const perm = ctx.placement(x).perm;
  const input = ctx.tensor(x, perm);
  const output = ctx.define(node.outputs[0], perm);
  const named: Record<string, BuiltinOperatorName> = { '0,6': 'RELU6', '-1,1': 'RELU_N1_TO_1', '0,Infinity': 'RELU' };
  const op = named[`${lo},${hi}`];
  if (op) return ctx.emit(op, [input], [output]);
  const name = node.name || node.outputs[0].name;
  const shape = ctx.graph.tensors[input].shape;
  const rank = shape.length;
  // A bound is a constant (NaN from clipBounds means computed: read it as a tensor), or absent (±Infinity).
  const bound = (value: number, index: number, suffix: string) =>
    Number.isNaN(value)
      ? ctx.broadcastTensor(node.inputs[index]!, rank, perm)
      : ctx.float32(`${name}/${suffix}`, [value], []);
  let current = input;
  if (lo !== -Infinity) {
    const target = hi === Infinity ? output : ctx.scratch(`${name}/lower_bounded`, shape);
    ctx.emit('MAXIMUM', [current, bound(lo, 1, 'min')], [target], 'MaximumMinimumOptions', {});
    current = target;
  }
  if (hi !== Infinity) ctx.emit('MINIMUM', [current, bound(hi, 2, 'max')], [output], 'MaximumMinimumOptions', {});
  if (lo === -Infinity && hi === Infinity) ctx.reshape(current, output, shape);
}

const BINARY: Record<string, { op: BuiltinOperatorName; options?: BuiltinOptionsName; fuses?: boolean }> = {
  Add: { op: 'ADD', options: 'AddOptions', fuses: true },
  Sub: { op: 'SUB', options: 'SubOptions', fuses: true },
  Mul: { op: 'MUL', options: 'MulOptions', fuses: true },
  Div: { op: 'DIV', options: 'DivOptions', fuses: true },
  Pow: { op: 'POW', options: 'PowOptions' },
  Max: { op: 'MAXIMUM', options: 'MaximumMinimumOptions' },
  Min: { op: 'MINIMUM', options: 'MaximumMinimumOptions' },
  Equal: { op: 'EQUAL' },
  Less: { op: 'LESS' },
  Greater: { op: 'GREATER' },
  LessOrEqual: { op: 'LESS_EQUAL' },
  GreaterOrEqual: { op: 'GREATER_EQUAL' },
  And: { op: 'LOGICAL_AND' },
  Or: { op: 'LOGICAL_OR' },
  Xor: { op: 'NOT_EQUAL' },
};

/** Broadcasting binary ops (Max and Min with more inputs as a chain), in the layout of their first computed input. */
export function lowerBinary(node: Node, ctx: ExportContext): void {
  const spec = BINARY[node.opType];
  const inputs = node.inputs.filter((v): v is Value => !!v);
  const rank = ctx.rank(node.outputs[0]);
  const perm = sharedPerm(ctx, inputs, rank);
  const fused = spec.fuses ? ctx.fusibleActivation(node) : undefined;
  const { out, activation } = ctx.fuse(node, fused);
  const tensors = inputs.map((v) => ctx.broadcastTensor(v, rank, perm));
  if (tensors.length === 1) return ctx.place(out, { tensor: tensors[0], perm });
  if (node.opType === 'Pow' && inputs[0].dtype !== 'float32' && inputs[0].dtype !== 'int32')
    ctx.unsupported(node, `a ${inputs[0].dtype} base: TFLite's POW computes in float32 or int32`);
  // x² as MUL(x, x), as TFLiteConverter squares: exact, and TFLite's int8 kernels have MUL, not POW.
  const [base, result] = [inputs[0].shape, node.outputs[0].shape];
  if (node.opType === 'Pow' && isSquare(inputs[1]) && !!base && base.join() === result?.join())
    return void ctx.emit('MUL', [tensors[0], tensors[0]], [ctx.define(out, perm)], 'MulOptions', {
      fused_activation_function: Activation.NONE,
    });
  if (node.opType === 'Pow' && inputs[1].dtype !== inputs[0].dtype) tensors[1] = powExponent(ctx, node, tensors[1]);
  const output = ctx.define(out, perm);
  const options: Record<string, number> = spec.fuses ? { fused_activation_function: activation } : {};
  let current = tensors[0];
  for (let i = 1; i < tensors.length; i++) {
    const last = i === tensors.length - 1;
    const target = last ? output : ctx.scratch(`${out.name}/partial${i}`, ctx.graph.tensors[output].shape, out.dtype);
    ctx.emit(spec.op, [current, tensors[i]], [target], spec.options, spec.options ? options : {});
    current = target;
  }
}

/** A constant exponent of 2 (any dtype, one element). */
const isSquare = (exponent: Value) => exponent.const?.size === 1 && exponent.const.toNumbers()[0] === 2;

/** Pow's exponent cast to the base's type: TFLite's POW takes two operands of one type (float32 or int32). */
function powExponent(ctx: ExportContext, node: Node, exponent: number): number {
  const [base, power] = [node.inputs[0]!, node.inputs[1]!];
  const shape = ctx.graph.tensors[exponent].shape;
  const cast = ctx.scratch(`${power.name}/${base.dtype}`, shape, base.dtype);
  ctx.emit('CAST', [exponent], [cast], 'CastOptions', {
    in_data_type: ctx.graph.tensors[exponent].type,
    out_data_type: ctx.graph.tensors[cast].type,
  });
  return cast;
}

/** HardSigmoid: max(0, min(1, αx + β)) as MUL, ADD with a fused RELU, MINIMUM. */
export function lowerHardSigmoid(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const perm = ctx.placement(x).perm;
  const input = ctx.tensor(x, perm);
  const shape = ctx.graph.tensors[input].shape;
  const name = node.name || node.outputs[0].name;
  const scaledX = ctx.scratch(`${name}/scaled`, shape);
  ctx.emit(
    'MUL',
    [input, ctx.float32(`${name}/alpha`, [node.attr('alpha', 'float', 0.2)], [])],
    [scaledX],
    'MulOptions',
    {
      fused_activation_function: Activation.NONE,
    },
  );
  const shifted = ctx.scratch(`${name}/shifted`, shape);
  ctx.emit(
    'ADD',
    [scaledX, ctx.float32(`${name}/beta`, [node.attr('beta', 'float', 0.5)], [])],
    [shifted],
    'AddOptions',
    {
      fused_activation_function: Activation.RELU,
    },
  );
  const one = ctx.float32(`${name}/one`, [1], []);
  ctx.emit('MINIMUM', [shifted, one], [ctx.define(node.outputs[0], perm)], 'MaximumMinimumOptions', {});
  ctx.count('HardSigmoid → MUL + ADD (fused RELU) + MINIMUM');
}

/** Reciprocal: DIV of 1 by the input. */
export function lowerReciprocal(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const perm = ctx.placement(x).perm;
  const one = ctx.float32(`${node.name || node.outputs[0].name}/one`, [1], []);
  ctx.emit('DIV', [one, ctx.tensor(x, perm)], [ctx.define(node.outputs[0], perm)], 'DivOptions', {
    fused_activation_function: Activation.NONE,
  });
}

/** Where(cond, x, y): SELECT_V2, broadcasting as ONNX does. */
export function lowerWhere(node: Node, ctx: ExportContext): void {
  const inputs = node.inputs.map((v) => v!);
  const rank = ctx.rank(node.outputs[0]);
  const perm = sharedPerm(ctx, inputs, rank);
  const tensors = inputs.map((v) => ctx.broadcastTensor(v, rank, perm));
  ctx.emit('SELECT_V2', tensors, [ctx.define(node.outputs[0], perm)]);
}

/** PRelu: PRELU with the slope laid out like the input. */
export function lowerPRelu(node: Node, ctx: ExportContext): void {
  const [x, slope] = [node.inputs[0]!, node.inputs[1]!];
  const rank = ctx.rank(x);
  const perm = ctx.placement(x).perm;
  ctx.emit('PRELU', [ctx.tensor(x, perm), ctx.broadcastTensor(slope, rank, perm)], [ctx.define(node.outputs[0], perm)]);
}

/** Softmax and LogSoftmax: TFLite's act on the last axis, so the reduced axis is laid out last. */
export function lowerSoftmax(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const shape = ctx.shape(x);
  const rank = shape.length;
  const legacy = ctx.opset < 13;
  let axis = node.attr('axis', 'int', legacy ? 1 : -1);
  if (axis < 0) axis += rank;
  const op: BuiltinOperatorName = node.opType === 'LogSoftmax' ? 'LOG_SOFTMAX' : 'SOFTMAX';
  const options: [BuiltinOptionsName | undefined, Record<string, number>] =
    op === 'SOFTMAX' ? ['SoftmaxOptions', { beta: 1 }] : [undefined, {}];
  if (legacy && axis !== rank - 1 && shape.slice(axis + 1).some((d) => d !== 1)) {
    // Before opset 13 the input is seen as 2-D [before axis, from axis on].
    const rows = shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const flat = ctx.scratch(`${x.name}/2d`, [rows, shape.slice(axis).reduce((a, b) => a * b, 1)]);
    ctx.reshape(ctx.tensor(x), flat, ctx.graph.tensors[flat].shape);
    const result = ctx.scratch(`${node.outputs[0].name}/2d`, ctx.graph.tensors[flat].shape);
    ctx.emit(op, [flat], [result], ...options);
    ctx.reshape(result, ctx.define(node.outputs[0]), shape);
    return;
  }
  const current = ctx.placement(x).perm;
  const perm: Perm = physicalAxis(current, axis) === rank - 1 ? current : [...current.filter((a) => a !== axis), axis];
  ctx.emit(op, [ctx.tensor(x, perm)], [ctx.define(node.outputs[0], perm)], ...options);
}

/** BatchNormalization left over (not after a Conv): a per-channel MUL and ADD. */
export function lowerBatchNorm(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => ctx.constInput(node, i, 'statistics').toFloat64());
  const epsilon = node.attr('epsilon', 'float', 1e-5);
  const channels = scale.length;
  const a = new Float32Array(channels);
  const b = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    a[c] = scale[c] / Math.sqrt(variance[c] + epsilon);
    b[c] = bias[c] - mean[c] * a[c];
  }
  const rank = ctx.rank(x);
  const perm = ctx.placement(x).perm;
  const dims = [1, channels, ...new Array<number>(rank - 2).fill(1)];
  const name = node.name || node.outputs[0].name;
  const asConst = (suffix: string, data: Float32Array) =>
    ctx.graph.addConstant(
      `${name}/${suffix}`,
      Tensor.from(
        'float32',
        perm.map((i) => dims[i]),
        data,
      ),
    );
  const scaled = ctx.scratch(
    `${name}/scaled`,
    perm.map((i) => ctx.shape(x)[i]),
  );
  ctx.emit('MUL', [ctx.tensor(x, perm), asConst('scale', a)], [scaled], 'MulOptions', {
    fused_activation_function: Activation.NONE,
  });
  ctx.emit('ADD', [scaled, asConst('shift', b)], [ctx.define(node.outputs[0], perm)], 'AddOptions', {
    fused_activation_function: Activation.NONE,
  });
  ctx.count('BatchNormalization → MUL + ADD');
}
