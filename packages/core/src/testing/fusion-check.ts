/**
 * What the fusion tests share: small graphs built in code, a fused copy made by a pass, and
 * onnxruntime (real sessions, graph optimizations off so onnxruntime's own fusions do not hide
 * ours) as the oracle that the fused model computes what the unfused one did. Test-only: not
 * part of the published package.
 */
import { expect } from 'vitest';
import { NodeBackend } from '@edgeml/runtime-node';
import { Graph } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { tensorType, type Dim } from '../ir/types.js';
import type { Value } from '../ir/value.js';
import type { NodeInit } from '../ir/node.js';
import { PassManager, type Pass } from '../passes/pass.js';
import { eliminateDeadCode } from '../passes/dead-code.js';
import { inferShapes } from '../shape/infer.js';
import { Tensor } from '../tensor/tensor.js';
import { randomTensor } from '../../../../tests/support/models.js';
import type { RewriteCounts } from '../passes/fusion/rewrite.js';

const backend = new NodeBackend();

/** A graph with one float32 input `x` of `shape`, and a model of it at `opset` once `finish` names the output. */
export function graphWithInput(shape: readonly Dim[], name = 'idiom'): { graph: Graph; x: Value } {
  const graph = new Graph(name);
  return { graph, x: graph.addInput('x', tensorType('float32', shape)) };
}

/** A float32 constant (scalar when `dims` is empty). */
export function constant(graph: Graph, name: string, values: readonly number[], dims: readonly number[] = []): Value {
  return graph.addInitializer(graph.names.value(name), Tensor.from('float32', dims, values));
}

/** `op(inputs)` appended to `graph`, its one output returned. */
export function op(
  graph: Graph,
  opType: string,
  inputs: (Value | undefined)[],
  attributes: NodeInit['attributes'] = {},
): Value {
  return graph.op(opType, inputs, attributes).outputs[0];
}

/** Make `y` the graph's output `y` and wrap the graph in a model of `opset`, shapes inferred. */
export function finish(graph: Graph, y: Value, opset: number): Model {
  y.name = 'y';
  graph.outputs.push(y);
  const model = new Model(graph, { opsetImports: new Map([['', opset]]), irVersion: opset >= 21 ? 10 : 8 });
  inferShapes(model);
  return model;
}

/** Seeded random float32 values in [-scale, scale). */
export const randomFeed = (dims: readonly number[], seed = 1, scale = 4): Tensor =>
  randomTensor([...dims], seed, scale);

/** A fused copy of `model`: `pass` then dead-code elimination to a fixed point; what each rewrite did. */
export async function fused(
  model: Model,
  pass: (counts: RewriteCounts) => Pass,
): Promise<{ model: Model; counts: RewriteCounts }> {
  const copy = model.clone();
  const counts: RewriteCounts = new Map();
  const dce: Pass = {
    name: 'dce',
    inPlace: true,
    run: (m) => ({ model: m, modified: eliminateDeadCode(m.graph) > 0 }),
  };
  await new PassManager([pass(counts), dce], { fixedPoint: true }).run(copy);
  return { model: copy, counts };
}

/** Op types of the main graph, in order. */
export const opTypes = (model: Model): string[] => model.graph.nodes.map((n) => n.opType);

/** Outputs of `model` on `feeds` in onnxruntime-node. */
export async function runModel(model: Model, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await backend.createSession(model, { graphOptimizationLevel: 'disabled', intraOpThreads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.dispose();
  }
}

/** Largest |a − b| over every output, relative to the largest |reference| (at least 1). */
export function maxRelativeDiff(reference: Record<string, Tensor>, candidate: Record<string, Tensor>): number {
  let worst = 0;
  for (const [name, ref] of Object.entries(reference)) {
    const got = candidate[name];
    expect(got?.dims, `output '${name}' shape`).toEqual(ref.dims);
    const a = ref.toFloat64();
    const b = got.toFloat64();
    let diff = 0;
    let scale = 1;
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(a[i]));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

/** The fused model gives the unfused one's outputs on onnxruntime (within `tolerance` relative). */
export async function expectSameOutputs(
  original: Model,
  candidate: Model,
  feeds: Record<string, Tensor>,
  tolerance = 1e-5,
): Promise<void> {
  const [want, got] = [await runModel(original, feeds), await runModel(candidate, feeds)];
  expect(maxRelativeDiff(want, got)).toBeLessThanOrEqual(tolerance);
  expect(candidate.graph.outputs.map((v) => v.name)).toEqual(original.graph.outputs.map((v) => v.name));
}
