/**
 * For the opset converter's unit tests: one-node models at a chosen opset, and onnxruntime-node
 * as the judge that a converted model computes what the original does on the same inputs.
 */
import { expect } from 'vitest';
import {
  Graph,
  Model,
  Node,
  convertOpset,
  tensorType,
  toleranceMismatch,
  type Attribute,
  type DType,
  type Tensor,
} from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { randomTensor } from './models.js';

export interface OneNodeSpec {
  op: string;
  opset: number;
  /** Input slots in order: a fed graph input, an initializer, or an empty slot. */
  inputs: ({ feed: string; value: Tensor } | { init: string; value: Tensor } | null)[];
  attributes?: Record<string, Attribute['value']>;
  /** Output element types (default one float32 output). */
  outputs?: DType[];
}

/** A model with one node of `spec.op` at default-domain opset `spec.opset`. */
export function oneNodeModel(spec: OneNodeSpec): Model {
  const graph = new Graph(`${spec.op}_${spec.opset}`);
  const inputs = spec.inputs.map((slot) => {
    if (!slot) return undefined;
    if ('feed' in slot) return graph.addInput(slot.feed, tensorType(slot.value.dtype, slot.value.dims));
    slot.value.name = slot.init;
    return graph.addInitializer(slot.init, slot.value);
  });
  const outputs = (spec.outputs ?? ['float32']).map((dtype, i) => {
    const name = `y${i}`;
    return { name, dtype };
  });
  const node = new Node({
    opType: spec.op,
    name: spec.op.toLowerCase(),
    inputs,
    attributes: spec.attributes ?? {},
    outputs: outputs.map((o) => o.name),
  });
  graph.append(node);
  node.outputs.forEach((v, i) => {
    v.type = tensorType(outputs[i].dtype);
    graph.outputs.push(v);
  });
  return new Model(graph, { opsetImports: new Map([['', spec.opset]]), irVersion: 8 });
}

/** The fed inputs of a one-node spec. */
export function feedsOf(spec: OneNodeSpec): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const slot of spec.inputs) if (slot && 'feed' in slot) feeds[slot.feed] = slot.value;
  return feeds;
}

const backend = new NodeBackend();

/** Outputs of `model` on onnxruntime-node (graph optimizations off, so each node runs as written). */
export async function runOnOrt(model: Model, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await backend.createSession(model, { graphOptimizationLevel: 'disabled' });
  try {
    return await session.run(feeds);
  } finally {
    await session.dispose();
  }
}

/** Every output of `actual` matches `expected` (same dtype and shape; values within a float32 rounding). */
export function expectSameOutputs(actual: Record<string, Tensor>, expected: Record<string, Tensor>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const name of Object.keys(expected))
    expect(toleranceMismatch(actual[name], expected[name], 1e-6, 1e-6), name).toBeUndefined();
}

/**
 * Convert `model` to `target`, check the result imports `target` and gives the original's
 * outputs on onnxruntime-node for `feeds`, and return the converted model for further checks.
 */
export async function expectConversionKeepsOutputs(
  model: Model,
  target: number,
  feeds: Record<string, Tensor>,
): Promise<Model> {
  const before = await runOnOrt(model, feeds);
  const { model: converted } = convertOpset(model, target);
  expect(converted.opset()).toBe(target);
  expect(model.opset()).not.toBe(target);
  converted.graph.validate();
  expectSameOutputs(await runOnOrt(converted, feeds), before);
  return converted;
}

/** The one node of a converted one-node model with op `op` (its attributes and inputs to inspect). */
export function nodeOf(model: Model, op: string): Node {
  const found = model.graph.nodes.filter((n) => n.opType === op);
  expect(found.length, `one ${op} node`).toBe(1);
  return found[0];
}

/** A float32 graph input of `dims` with values from a fixed seed. */
export const feed = (name: string, dims: number[], seed = 1) => ({ feed: name, value: randomTensor(dims, seed) });
