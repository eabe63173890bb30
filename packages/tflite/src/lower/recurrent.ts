/**
 * ONNX LSTM, GRU and RNN, unrolled over their static sequence length into FULLY_CONNECTED and
 * elementwise operators: one FULLY_CONNECTED projects the whole input sequence onto every gate
 * at once (both biases folded into it), then each time step adds the recurrent projection of
 * the previous hidden state and applies the cell's gate equations (the ONNX operator spec's, gate
 * order i, o, f, c for LSTM and z, r, h for GRU, both `linear_before_reset` forms). Forward,
 * reverse and bidirectional; `layout` 0 and 1; initial states from any tensor; Y, Y_h and Y_c.
 *
 * Why not TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM: its states are variable tensors that the
 * interpreter keeps from one invocation to the next until `reset_all_variables()` (outputs differ
 * between runs otherwise: tensorflow/tensorflow#47813), whereas an ONNX LSTM starts each run from
 * its `initial_h`/`initial_c` inputs; and it has no Y_h/Y_c outputs, which stateful models
 * such as Silero VAD return; GRU has no TFLite builtin at all. The unrolled form is exact for
 * every case and runs on every delegate; its size grows with the sequence length, so long
 * sequences make long graphs.
 */
import { Tensor, sliceAlong, type Node, type Value } from '@edgeml/core';
import type { ExportContext } from '../context.js';
import { Activation, type BuiltinOperatorName } from '../schema.js';

/** Gate activations TFLite computes with one operator. */
const ACTIVATIONS: Readonly<Record<string, BuiltinOperatorName>> = { Sigmoid: 'LOGISTIC', Tanh: 'TANH', Relu: 'RELU' };

/** Gates per cell and the spec's default activations (f, g[, h]) per direction. */
const CELLS: Readonly<Record<string, { gates: number; activations: string[] }>> = {
  LSTM: { gates: 4, activations: ['Sigmoid', 'Tanh', 'Tanh'] },
  GRU: { gates: 3, activations: ['Sigmoid', 'Tanh'] },
  RNN: { gates: 1, activations: ['Tanh'] },
};

/** Emits the small ops of one recurrence on [batch, hidden] tensors. */
class Emitter {
  private count = 0;

  constructor(
    readonly ctx: ExportContext,
    private readonly name: string,
    readonly shape: readonly number[],
  ) {}

  scratch(tag: string, shape = this.shape): number {
    return this.ctx.scratch(`${this.name}/${tag}_${this.count++}`, shape);
  }

  binary(op: 'ADD' | 'SUB' | 'MUL', a: number, b: number, tag = op.toLowerCase()): number {
    const out = this.scratch(tag);
    const options = op === 'ADD' ? 'AddOptions' : op === 'SUB' ? 'SubOptions' : 'MulOptions';
    this.ctx.emit(op, [a, b], [out], options, { fused_activation_function: Activation.NONE });
    return out;
  }

  unary(op: BuiltinOperatorName, a: number): number {
    const out = this.scratch(op.toLowerCase());
    this.ctx.emit(op, [a], [out]);
    return out;
  }

  /** `input` [rows, in] · `weights`ᵀ (weights [out, in]) + `bias`. */
  fullyConnected(input: number, weights: Tensor, bias: Tensor | undefined, shape: readonly number[], tag: string) {
    const out = this.scratch(tag, shape);
    const inputs = [input, this.ctx.graph.addConstant(`${this.name}/${tag}_weights`, weights)];
    inputs.push(bias ? this.ctx.graph.addConstant(`${this.name}/${tag}_bias`, bias) : -1);
    this.ctx.emit('FULLY_CONNECTED', inputs, [out], 'FullyConnectedOptions', {
      fused_activation_function: Activation.NONE,
    });
    return out;
  }

  /** `input` cut into `parts` equal pieces along `axis`. */
  split(input: number, parts: number, axis: number, pieceShape: readonly number[], tag: string): number[] {
    if (parts === 1) return [input];
    const pieces = Array.from({ length: parts }, () => this.scratch(tag, pieceShape));
    this.ctx.emit('SPLIT', [this.ctx.int32(`${this.name}/${tag}_axis`, [axis], []), input], pieces, 'SplitOptions', {
      num_splits: parts,
    });
    return pieces;
  }

  reshape(input: number, shape: readonly number[], tag: string): number {
    const out = this.scratch(tag, shape);
    this.ctx.reshape(input, out, shape);
    return out;
  }

  /** `parts` [rows, hidden] stacked along axis 0 and reshaped to `shape`, into tensor `out`. */
  stack(parts: number[], shape: readonly number[], out: number): void {
    const rows = parts.length * this.shape[0];
    const joined = parts.length === 1 ? parts[0] : this.scratch('stacked', [rows, this.shape[1]]);
    if (parts.length > 1)
      this.ctx.emit('CONCATENATION', parts, [joined], 'ConcatenationOptions', {
        axis: 0,
        fused_activation_function: Activation.NONE,
      });
    this.ctx.reshape(joined, out, shape);
  }

  constant(tag: string, values: Float32Array, dims: readonly number[]): number {
    return this.ctx.float32(`${this.name}/${tag}`, values, dims);
  }
}

/** The weights of one direction: W [gates·hidden, in], R [gates·hidden, hidden], B [2·gates·hidden]. */
interface DirectionWeights {
  w: Tensor;
  r: Tensor;
  wb: Float32Array;
  rb: Float32Array;
  peepholes?: Float32Array;
}

/** The activations of one direction by role, and the clip bound (Infinity: none). */
interface CellConfig {
  kind: string;
  hidden: number;
  activations: BuiltinOperatorName[];
  clip: number;
  inputForget: boolean;
  linearBeforeReset: boolean;
}

function directionWeights(node: Node, ctx: ExportContext, d: number, gates: number, hidden: number): DirectionWeights {
  const w = ctx.constInput(node, 1, 'input weights W');
  const r = ctx.constInput(node, 2, 'recurrence weights R');
  const take = (t: Tensor) => {
    const one = sliceAlong(t, 0, d, d + 1);
    return one.reshape(one.dims.slice(1));
  };
  const b = node.inputs[3] ? take(ctx.constInput(node, 3, 'bias B')).toFloat64() : new Float64Array(2 * gates * hidden);
  const weights: DirectionWeights = {
    w: take(w),
    r: take(r),
    wb: Float32Array.from(b.subarray(0, gates * hidden)),
    rb: Float32Array.from(b.subarray(gates * hidden)),
  };
  if (node.opType === 'LSTM' && node.inputs[7])
    weights.peepholes = Float32Array.from(take(ctx.constInput(node, 7, 'peephole weights P')).toFloat64());
  return weights;
}

/** The gate activations per direction, as TFLite ops; an UnsupportedOpError for others. */
function activationsOf(node: Node, ctx: ExportContext, dirs: number): BuiltinOperatorName[][] {
  const defaults = CELLS[node.opType].activations;
  const given = node.attr('activations', 'strings');
  if (node.attr('activation_alpha', 'floats')?.length || node.attr('activation_beta', 'floats')?.length)
    ctx.unsupported(node, 'activation_alpha/activation_beta (parametric gate activations) have no TFLite form here');
  return Array.from({ length: dirs }, (_, d) =>
    defaults.map((fallback, i) => {
      const name = given?.[d * defaults.length + i] ?? fallback;
      const op = ACTIVATIONS[name];
      if (!op)
        ctx.unsupported(
          node,
          `gate activation '${name}' is not one TFLite computes (${Object.keys(ACTIVATIONS).join(', ')})`,
        );
      return op;
    }),
  );
}

/** sequence_lens must be absent or equal to the (static) sequence length for every batch entry. */
function checkSequenceLens(node: Node, ctx: ExportContext, seq: number): void {
  const lens = node.inputs[4];
  if (!lens) return;
  const values = ctx.constInput(node, 4, 'sequence_lens').toFloat64();
  if (values.some((v) => v !== seq))
    ctx.unsupported(
      node,
      `sequence_lens [${[...values].join(', ')}] differ from the sequence length ${seq}: padded batches are not exported`,
    );
}

/** Pre-activations clipped to [-clip, clip] where the node asks for it. */
function clipped(e: Emitter, cfg: CellConfig, x: number): number {
  if (!Number.isFinite(cfg.clip)) return x;
  const low = e.scratch('clip_low');
  e.ctx.emit('MAXIMUM', [x, e.constant('clip_min', Float32Array.of(-cfg.clip), [])], [low]);
  const high = e.scratch('clip_high');
  e.ctx.emit('MINIMUM', [low, e.constant('clip_max', Float32Array.of(cfg.clip), [])], [high]);
  return high;
}

const gate = (e: Emitter, cfg: CellConfig, op: BuiltinOperatorName, pre: number) => e.unary(op, clipped(e, cfg, pre));

/** Weights rows [from, to) of a [gates·hidden, n] matrix, and the matching bias entries. */
const rows = (t: Tensor, from: number, to: number) => sliceAlong(t, 0, from, to);

interface StepState {
  h: number;
  c?: number;
}

/** One time step: the projected input `xw` [batch, gates·hidden] and the state before it. */
function step(e: Emitter, cfg: CellConfig, wts: DirectionWeights, xw: number, state: StepState): StepState {
  const { hidden } = cfg;
  const [batch] = e.shape;
  const [f, g, h] = cfg.activations;
  if (cfg.kind === 'RNN') {
    const rec = e.fullyConnected(state.h, wts.r, undefined, [batch, hidden], 'recurrent');
    return { h: gate(e, cfg, f, e.binary('ADD', xw, rec)) };
  }
  if (cfg.kind === 'GRU') {
    const [xz, xr, xh] = e.split(xw, 3, 1, [batch, hidden], 'x_gates');
    const recurrent = cfg.linearBeforeReset ? wts.r : rows(wts.r, 0, 2 * hidden);
    const bias = cfg.linearBeforeReset
      ? Tensor.from(
          'float32',
          [3 * hidden],
          Float32Array.from(wts.rb, (v, i) => (i < 2 * hidden ? 0 : v)),
        )
      : undefined;
    const rec = e.fullyConnected(
      state.h,
      recurrent,
      bias,
      [batch, (cfg.linearBeforeReset ? 3 : 2) * hidden],
      'recurrent',
    );
    const [hz, hr, hh] = e.split(rec, cfg.linearBeforeReset ? 3 : 2, 1, [batch, hidden], 'h_gates');
    const z = gate(e, cfg, f, e.binary('ADD', xz, hz));
    const r = gate(e, cfg, f, e.binary('ADD', xr, hr));
    const candidateRec = cfg.linearBeforeReset
      ? e.binary('MUL', r, hh)
      : e.fullyConnected(
          e.binary('MUL', r, state.h),
          rows(wts.r, 2 * hidden, 3 * hidden),
          undefined,
          [batch, hidden],
          'reset_recurrent',
        );
    const candidate = gate(e, cfg, g, e.binary('ADD', xh, candidateRec));
    // H = (1 − z)·h̃ + z·H₋₁ = h̃ + z·(H₋₁ − h̃)
    return { h: e.binary('ADD', candidate, e.binary('MUL', z, e.binary('SUB', state.h, candidate))) };
  }
  const rec = e.fullyConnected(state.h, wts.r, undefined, [batch, 4 * hidden], 'recurrent');
  const [pi, po, pf, pc] = e.split(e.binary('ADD', xw, rec), 4, 1, [batch, hidden], 'gates');
  const peep = (pre: number, c: number, k: number) =>
    wts.peepholes
      ? e.binary(
          'ADD',
          pre,
          e.binary('MUL', c, e.constant('peephole', wts.peepholes.subarray(k * hidden, (k + 1) * hidden), [hidden])),
        )
      : pre;
  const i = gate(e, cfg, f, peep(pi, state.c!, 0));
  const forget = cfg.inputForget
    ? e.binary('SUB', e.constant('one', Float32Array.of(1), []), i)
    : gate(e, cfg, f, peep(pf, state.c!, 2));
  const cell = gate(e, cfg, g, pc);
  const c = e.binary('ADD', e.binary('MUL', forget, state.c!), e.binary('MUL', i, cell));
  const o = gate(e, cfg, f, peep(po, c, 1));
  return { h: e.binary('MUL', o, e.unary(h, c)), c };
}

/** Initial state `v` ([dirs, batch, hidden], or [batch, dirs, hidden] in layout 1) per direction; zeros without it. */
function initialStates(e: Emitter, v: Value | undefined, dirs: number, layout: number, tag: string): number[] {
  const [batch, hidden] = e.shape;
  if (!v)
    return Array.from({ length: dirs }, () => e.constant(`${tag}_zeros`, new Float32Array(batch * hidden), e.shape));
  const stored = e.ctx.tensor(v, layout ? [1, 0, 2] : [0, 1, 2]);
  const pieces = e.split(stored, dirs, 0, [1, batch, hidden], tag);
  return pieces.map((p) => e.reshape(p, e.shape, tag));
}

function cellConfig(node: Node, hidden: number, activations: BuiltinOperatorName[]): CellConfig {
  return {
    kind: node.opType,
    hidden,
    activations,
    clip: node.attr('clip', 'float') ?? Infinity,
    inputForget: node.attr('input_forget', 'int', 0) !== 0,
    linearBeforeReset: node.attr('linear_before_reset', 'int', 0) !== 0,
  };
}

/** A used output of the node (Y, Y_h or Y_c), or undefined when nothing reads it. */
function usedOutput(node: Node, ctx: ExportContext, index: number): Value | undefined {
  const out = node.outputs[index];
  return out?.name && (out.uses().length > 0 || ctx.isGraphOutput(out)) ? out : undefined;
}

/** LSTM, GRU and RNN (see the module comment). */
export function lowerRecurrent(node: Node, ctx: ExportContext): void {
  const { gates } = CELLS[node.opType];
  const x = node.inputs[0]!;
  const layout = node.attr('layout', 'int', 0);
  const direction = node.attr('direction', 'string', 'forward');
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const dims = ctx.shape(x);
  const [seq, batch, inputSize] = layout ? [dims[1], dims[0], dims[2]] : dims;
  const r = ctx.constInput(node, 2, 'recurrence weights R');
  const hidden = node.attr('hidden_size', 'int', r.dims[2]);
  checkSequenceLens(node, ctx, seq);
  const activations = activationsOf(node, ctx, dirs);
  const name = node.name || node.outputs[0].name;
  const e = new Emitter(ctx, name, [batch, hidden]);
  // The input as [seq·batch, in] rows, time-major, for one projection of every step at once.
  const sequence = e.reshape(ctx.tensor(x, layout ? [1, 0, 2] : [0, 1, 2]), [seq * batch, inputSize], 'sequence');
  const h0 = initialStates(e, node.inputs[5], dirs, layout, 'initial_h');
  const c0 = node.opType === 'LSTM' ? initialStates(e, node.inputs[6], dirs, layout, 'initial_c') : [];
  const ys: number[][] = Array.from({ length: seq }, () => []);
  const finals: StepState[] = [];
  for (let d = 0; d < dirs; d++) {
    const cfg = cellConfig(node, hidden, activations[d]);
    const wts = directionWeights(node, ctx, d, gates, hidden);
    // Both biases go into the input projection, except GRU's recurrent h-gate bias with
    // linear_before_reset, which the reset gate multiplies: r·(H₋₁·Rhᵀ + Rbh).
    const insideReset = (i: number) => node.opType === 'GRU' && cfg.linearBeforeReset && i >= 2 * hidden;
    const bias = Float32Array.from(wts.wb, (v, i) => (insideReset(i) ? v : v + wts.rb[i]));
    const projected = e.fullyConnected(
      sequence,
      wts.w,
      Tensor.from('float32', [gates * hidden], bias),
      [seq * batch, gates * hidden],
      `input_projection${d}`,
    );
    const perStep = e.split(projected, seq, 0, [batch, gates * hidden], `step_input${d}`);
    let state: StepState = { h: h0[d], c: c0[d] };
    const reverse = direction === 'reverse' || d === 1;
    for (let k = 0; k < seq; k++) {
      const t = reverse ? seq - 1 - k : k;
      state = step(e, cfg, wts, perStep[t], state);
      ys[t][d] = state.h;
    }
    finals.push(state);
  }
  writeOutputs(node, ctx, e, { ys, finals, seq, dirs, layout });
  ctx.count(`${node.opType} unrolled over ${seq} time step${seq === 1 ? '' : 's'} (FULLY_CONNECTED + elementwise)`);
}

/** Y [seq, dirs, batch, hidden], Y_h and Y_c [dirs, batch, hidden], placed in the node's layout. */
function writeOutputs(
  node: Node,
  ctx: ExportContext,
  e: Emitter,
  run: { ys: number[][]; finals: StepState[]; seq: number; dirs: number; layout: number },
): void {
  const [batch, hidden] = e.shape;
  const { seq, dirs, layout } = run;
  const place = (v: Value, parts: number[], shape: number[], perm: number[]) => {
    const out = ctx.scratch(v.name, shape, 'float32');
    e.stack(parts, shape, out);
    ctx.place(v, { tensor: out, perm });
  };
  const y = usedOutput(node, ctx, 0);
  // Stored time-major; layout 1's logical [batch, seq, dirs, hidden] is that with axes (1, 2, 0, 3).
  if (y) place(y, run.ys.flat(), [seq, dirs, batch, hidden], layout ? [1, 2, 0, 3] : [0, 1, 2, 3]);
  const stateOut = (index: number, pick: (s: StepState) => number) => {
    const v = usedOutput(node, ctx, index);
    if (v) place(v, run.finals.map(pick), [dirs, batch, hidden], layout ? [1, 0, 2] : [0, 1, 2]);
  };
  stateOut(1, (s) => s.h);
  if (node.opType === 'LSTM') stateOut(2, (s) => s.c!);
}
