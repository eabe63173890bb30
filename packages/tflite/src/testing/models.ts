/** Small ONNX models built in the IR for the exporter's tests, with seeded random weights. */
import { Graph, Model, Tensor, attr, seededRandom, tensorType, type Value } from '@edgeml/core';

export class ModelBuilder {
  readonly graph = new Graph('test');
  private readonly random = seededRandom(7);
  private count = 0;

  input(name: string, shape: (number | string)[]): Value {
    return this.graph.addInput(name, tensorType('float32', shape));
  }

  weight(dims: number[], scale = 0.5): Value {
    const size = dims.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: size }, () => (this.random() * 2 - 1) * scale);
    return this.graph.addInitializer(`w${this.count++}`, Tensor.from('float32', dims, data));
  }

  constant(dims: number[], values: number[], dtype: 'float32' | 'int64' = 'float32'): Value {
    return this.graph.addInitializer(`c${this.count++}`, Tensor.from(dtype, dims, values));
  }

  op(
    opType: string,
    inputs: (Value | undefined)[],
    attributes: Record<string, number | number[] | string> = {},
  ): Value {
    return this.graph.op(opType, inputs, attributes, { name: `${opType.toLowerCase()}${this.count++}` }).outputs[0];
  }

  conv(x: Value, cin: number, cout: number, k: number, attributes: Record<string, number | number[] | string> = {}) {
    const group = typeof attributes.group === 'number' ? attributes.group : 1;
    return this.op('Conv', [x, this.weight([cout, cin / group, k, k]), this.weight([cout], 0.1)], {
      kernel_shape: [k, k],
      ...attributes,
    });
  }

  model(outputs: Value[], opset = 17): Model {
    outputs.forEach((v, i) => {
      v.name = `out${i}`;
      this.graph.outputs.push(v);
    });
    return new Model(this.graph, { opsetImports: new Map([['', opset]]) });
  }
}

/**
 * A mobile-style CNN: Conv + BatchNorm + Relu, a stride-2 depthwise Conv with symmetric pads
 * (asymmetric for TFLite's SAME) and Relu6, a grouped Conv, MaxPool, HardSwish, a Conv whose
 * output a Relu reads, global pooling, Flatten, Gemm and Softmax. Input x [1, 3, 16, 16].
 */
export function mobileCnn(): Model {
  const b = new ModelBuilder();
  const x = b.input('x', [1, 3, 16, 16]);
  let h = b.conv(x, 3, 8, 3, { pads: [1, 1, 1, 1] });
  h = b.op('BatchNormalization', [
    h,
    b.weight([8], 1),
    b.weight([8], 0.1),
    b.weight([8], 0.1),
    b.constant([8], new Array<number>(8).fill(0.5)),
  ]);
  h = b.op('Relu', [h]);
  h = b.conv(h, 8, 16, 3, { group: 8, strides: [2, 2], pads: [1, 1, 1, 1] });
  h = b.op('Clip', [h, b.constant([], [0]), b.constant([], [6])]);
  h = b.conv(h, 16, 16, 1, { group: 2 });
  h = b.op('MaxPool', [h], { kernel_shape: [2, 2], strides: [2, 2] });
  h = b.op('HardSwish', [h]);
  h = b.op('Relu', [b.conv(h, 16, 12, 3, { pads: [1, 1, 1, 1] })]);
  h = b.op('Flatten', [b.op('GlobalAveragePool', [h])]);
  h = b.op('Gemm', [h, b.weight([10, 12]), b.weight([10], 0.1)], { transB: 1 });
  return b.model([b.op('Softmax', [h], { axis: 1 })]);
}

/**
 * Control flow across layouts and scopes: h = Relu(Conv(x)) (NHWC in TFLite) feeds an If on
 * ReduceMean(h) > level whose then branch convolves h again with a weight of the main graph
 * and holds a nested If on gate > 0 that reads `gate` from two scopes up; the else branch is
 * Sigmoid(h). Inputs x [1, 3, 8, 8], level [], gate [1]: `level` and `gate` pick the branches.
 */
export function branchyModel(): Model {
  const b = new ModelBuilder();
  const x = b.input('x', [1, 3, 8, 8]);
  const level = b.input('level', []);
  const gate = b.input('gate', [1]);
  const h = b.op('Relu', [b.conv(x, 3, 4, 3, { pads: [1, 1, 1, 1] })]);
  const cond = b.op('Greater', [b.op('ReduceMean', [h], { keepdims: 0 }), level]);
  const [w, bias, zero] = [b.weight([4, 4, 3, 3]), b.weight([4], 0.1), b.constant([1], [0])];
  const inner = (name: string, op: string, inputs: Value[]) => {
    const g = new Graph(name);
    g.outputs.push(g.op(op, inputs, {}, { outputs: [`${name}_out`] }).outputs[0]);
    return g;
  };
  const thenBranch = new Graph('then');
  const convolved = thenBranch.op(
    'Conv',
    [h, w, bias],
    { kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
    { outputs: ['t_conv'] },
  ).outputs[0];
  const gateOn = thenBranch.op('Greater', [gate, zero], {}, { outputs: ['t_gate'] }).outputs[0];
  const nested = thenBranch.op(
    'If',
    [gateOn],
    [
      attr('then_branch', 'graph', inner('gated', 'Mul', [convolved, gate])),
      attr('else_branch', 'graph', inner('negated', 'Neg', [convolved])),
    ],
    { outputs: ['t_if'], name: 'nested_if' },
  ).outputs[0];
  thenBranch.outputs.push(nested);
  const elseBranch = inner('else', 'Sigmoid', [h]);
  const picked = b.graph.op(
    'If',
    [cond],
    [attr('then_branch', 'graph', thenBranch), attr('else_branch', 'graph', elseBranch)],
    { outputs: ['picked'], name: 'outer_if' },
  ).outputs[0];
  return b.model([b.op('Add', [picked, h])]);
}

/** What {@link recurrentModel} builds. */
export interface RecurrentCase {
  op: 'LSTM' | 'GRU' | 'RNN';
  seq: number;
  batch?: number;
  input?: number;
  hidden?: number;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: 0 | 1;
  /** initial_h (and initial_c) as graph inputs. */
  initialStates?: boolean;
  peepholes?: boolean;
  clip?: number;
  linearBeforeReset?: boolean;
}

/**
 * One LSTM, GRU or RNN with seeded random weights and biases, all three outputs (Y, Y_h, Y_c)
 * as graph outputs. Inputs: x (and h0, c0 with `initialStates`), in the case's layout.
 */
export function recurrentModel(c: RecurrentCase): Model {
  const b = new ModelBuilder();
  const [batch, inputSize, hidden] = [c.batch ?? 2, c.input ?? 5, c.hidden ?? 4];
  const dirs = c.direction === 'bidirectional' ? 2 : 1;
  const gates = { LSTM: 4, GRU: 3, RNN: 1 }[c.op];
  const layout = c.layout ?? 0;
  const x = b.input('x', layout ? [batch, c.seq, inputSize] : [c.seq, batch, inputSize]);
  const stateShape = layout ? [batch, dirs, hidden] : [dirs, batch, hidden];
  const h0 = c.initialStates ? b.input('h0', stateShape) : undefined;
  const c0 = c.initialStates && c.op === 'LSTM' ? b.input('c0', stateShape) : undefined;
  const inputs = [
    x,
    b.weight([dirs, gates * hidden, inputSize]),
    b.weight([dirs, gates * hidden, hidden]),
    b.weight([dirs, 2 * gates * hidden], 0.3),
    undefined,
    h0,
  ];
  if (c.op === 'LSTM') inputs.push(c0, c.peepholes ? b.weight([dirs, 3 * hidden]) : undefined);
  const attributes: Record<string, number | string> = { hidden_size: hidden, layout };
  if (c.direction) attributes.direction = c.direction;
  if (c.clip !== undefined) attributes.clip = c.clip;
  if (c.linearBeforeReset) attributes.linear_before_reset = 1;
  const outputs = c.op === 'LSTM' ? ['y', 'y_h', 'y_c'] : ['y', 'y_h'];
  const node = b.graph.op(c.op, inputs, attributes, { outputs, name: c.op.toLowerCase() });
  return b.model([...node.outputs], 14);
}

/**
 * A data-dependent loop: s = Relu(x) in the main graph, then v ← 0.9·v + s + iteration while
 * Σ|v| < limit, at most 10 times (ONNX Loop with a constant trip count, a body reading `s` from
 * the outer scope and its iteration number). Inputs x [1, 4] and limit []; output the final v.
 */
export function loopModel(): Model {
  const b = new ModelBuilder();
  const x = b.input('x', [1, 4]);
  const limit = b.input('limit', []);
  const s = b.op('Relu', [x]);
  const body = new Graph('body');
  const iteration = body.addInput('i', tensorType('int64', []));
  const condIn = body.addInput('cond_in', tensorType('bool', []));
  const vIn = body.addInput('v_in', tensorType('float32', [1, 4]));
  const step = (op: string, inputs: Value[], name: string, attributes = {}) =>
    body.op(op, inputs, attributes, { outputs: [name] }).outputs[0];
  const decay = b.constant([], [0.9]);
  const count = step('Cast', [iteration], 'count', { to: 1 });
  const vOut = step('Add', [step('Add', [step('Mul', [vIn, decay], 'decayed'), s], 'fed'), count], 'v_out');
  const total = step('ReduceSum', [step('Abs', [vOut], 'magnitude')], 'total', { keepdims: 0 });
  body.outputs.push(step('Less', [total, limit], 'cond_out'), vOut);
  void condIn;
  const loop = b.graph.op('Loop', [b.constant([], [10], 'int64'), undefined, x], [attr('body', 'graph', body)], {
    outputs: ['v_final'],
    name: 'loop',
  });
  return b.model([loop.outputs[0]]);
}
