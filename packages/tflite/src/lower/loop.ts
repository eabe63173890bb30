/**
 * ONNX Loop → TFLite WHILE with a cond and a body subgraph. The loop variables, in order: the
 * iteration count (int32 scalar), the trip count M (int32; 2³¹ − 1 without one), the condition
 * (true without one), the carried values, then every non-constant value the body reads from
 * outer scopes (passed through unchanged: TFLite subgraphs cannot read their parent's
 * tensors). The cond subgraph computes `i < M and cond`; the body subgraph runs the ONNX body
 * and returns `i + 1`, M, its cond_out, its carried outputs and the outer values. Carried values
 * keep their shapes; scan outputs (values stacked over the iterations) have no fixed-shape form
 * in WHILE and are refused.
 */
import { Tensor, type Graph, type Node, type Value } from '@edgeml/core';
import { ExportContext } from '../context.js';
import { identityPerm } from '../layout.js';
import { distinctTensor, lowerNodes } from '../lower-graph.js';
import { TensorType, type TensorTypeCode } from '../schema.js';
import { outerValues } from './control-flow.js';

interface LoopVar {
  shape: number[];
  type: TensorTypeCode;
}

const INT32_MAX = 2 ** 31 - 1;

const used = (ctx: ExportContext, v: Value | undefined) => !!v?.name && (v.uses().length > 0 || ctx.isGraphOutput(v));

/** The trip count as an int32 tensor of the outer graph. */
function tripCount(ctx: ExportContext, trip: Value | undefined, name: string): number {
  if (!trip) return ctx.int32(`${name}/no_trip_limit`, [INT32_MAX], []);
  if (trip.const) return ctx.int32(`${name}/trip_count`, [Math.min(trip.const.toFloat64()[0], INT32_MAX)], []);
  const shape = ctx.shape(trip);
  const cast = ctx.graph.addTensor(`${name}/trip_count`, shape, TensorType.INT32);
  ctx.emit('CAST', [ctx.tensor(trip)], [cast], 'CastOptions', {
    in_data_type: TensorType.INT64,
    out_data_type: TensorType.INT32,
  });
  return cast;
}

/** `i < M and cond` over the loop variables. */
function condSubgraph(ctx: ExportContext, name: string, vars: LoopVar[]): number {
  const { graph, index } = ctx.graph.subgraph(`${name}/cond`);
  graph.io.inputs = vars.map((v, k) => graph.addTensor(`${name}/cond/var${k}`, v.shape, v.type));
  const [i, m, cond] = graph.io.inputs;
  const broadcast = (a: readonly number[], b: readonly number[]) => (a.length >= b.length ? a : b);
  const lessShape = broadcast(vars[0].shape, vars[1].shape);
  const less = graph.addTensor(`${name}/cond/below_trip_count`, lessShape, TensorType.BOOL);
  graph.addOperator({ op: 'LESS', inputs: [i, m], outputs: [less] });
  const keep = graph.addTensor(`${name}/cond/keep_going`, broadcast(lessShape, vars[2].shape), TensorType.BOOL);
  graph.addOperator({ op: 'LOGICAL_AND', inputs: [less, cond], outputs: [keep] });
  graph.io.outputs = [keep];
  return index;
}

/** The ONNX body over the loop variables, returning their next values. */
function bodySubgraph(node: Node, body: Graph, ctx: ExportContext, vars: LoopVar[], outer: Value[]): number {
  const name = node.name || 'Loop';
  const { graph, index } = ctx.graph.subgraph(`${name}/body`);
  const inner = new ExportContext(ctx.opset, body.outputs, graph);
  graph.io.inputs = vars.map((v, k) => graph.addTensor(`${name}/body/var${k}`, v.shape, v.type));
  const [i, m, cond, ...rest] = graph.io.inputs;
  const carried = body.inputs.length - 2;
  const [iterNum, condIn, ...carriedIn] = body.inputs;
  if (used(inner, iterNum)) {
    // ONNX's iteration number is int64; the counter is int32.
    const wide = graph.addTensor(iterNum.name, vars[0].shape, TensorType.INT64);
    inner.emit('CAST', [i], [wide], 'CastOptions', { in_data_type: TensorType.INT32, out_data_type: TensorType.INT64 });
    inner.place(iterNum, { tensor: wide, perm: identityPerm(vars[0].shape.length) });
  }
  const place = (v: Value | undefined, tensor: number) => {
    if (v) inner.place(v, { tensor, perm: identityPerm(graph.tensors[tensor].shape.length) });
  };
  place(condIn, cond);
  carriedIn.forEach((v, k) => place(v, rest[k]));
  outer.forEach((v, k) => place(v, rest[carried + k]));
  lowerNodes(body, inner, () => ctx.opset);
  const taken = new Set(graph.io.inputs);
  const next = graph.addTensor(`${name}/body/next_i`, vars[0].shape, TensorType.INT32);
  inner.emit('ADD', [i, inner.int32(`${name}/body/one`, [1], [])], [next], 'AddOptions', {
    fused_activation_function: 0,
  });
  const own = (tensor: number, k: number) =>
    distinctTensor(inner, tensor, `${name}/body/out${k}`, taken, vars[k].shape);
  graph.io.outputs = [
    next,
    own(m, 1),
    own(inner.tensor(body.outputs[0]), 2),
    ...body.outputs.slice(1, 1 + carried).map((v, k) => own(inner.tensor(v), 3 + k)),
    ...outer.map((_, k) => own(rest[carried + k], 3 + carried + k)),
  ];
  for (const [what, n] of inner.tally) ctx.count(what, n);
  return index;
}

export function lowerLoop(node: Node, ctx: ExportContext): void {
  const body: Graph | undefined = node.attr('body', 'graph');
  if (!body) ctx.unsupported(node, 'it has no body');
  const [trip, cond, ...initial] = node.inputs;
  const carried = initial.length;
  const scans = node.outputs.slice(carried).filter((v) => used(ctx, v));
  if (scans.length)
    ctx.unsupported(
      node,
      `its scan outputs (${scans.map((v) => `'${v.name}'`).join(', ')}) stack values over the iterations, which TFLite's WHILE cannot hold in a fixed shape`,
    );
  const outer = outerValues(node);
  const name = node.name || 'Loop';
  const start = [
    ctx.int32(`${name}/i0`, [0], []),
    tripCount(ctx, trip, name),
    cond ? ctx.tensor(cond) : ctx.graph.addConstant(`${name}/always`, Tensor.from('bool', [], [1])),
    ...initial.map((v) => ctx.tensor(v!)),
    ...outer.map((v) => ctx.tensor(v)),
  ];
  const vars = start.map((t) => ({ shape: [...ctx.graph.tensors[t].shape], type: ctx.graph.tensors[t].type }));
  const cond_subgraph_index = condSubgraph(ctx, name, vars);
  const body_subgraph_index = bodySubgraph(node, body, ctx, vars, outer);
  const results = vars.map((v, k) => ctx.graph.addTensor(`${name}/var${k}`, v.shape, v.type));
  ctx.emit('WHILE', start, results, 'WhileOptions', { cond_subgraph_index, body_subgraph_index });
  node.outputs.slice(0, carried).forEach((out, k) => {
    ctx.place(out, { tensor: results[3 + k], perm: identityPerm(vars[3 + k].shape.length) });
  });
  ctx.count('Loop written as WHILE with cond and body subgraphs');
}
