/**
 * Small graphs for the channel rules' tests, built in code. Channels can be made inert on
 * purpose (a producer's weights and bias zero, so the channel is 0 everywhere), which makes
 * removing them exact: onnxruntime must give the same outputs before and after.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';
import { Graph, Model, Tensor, encodeModel, inferShapes, tensorType, type Node, type Value } from '@edgeml/core';
import { randomTensor, runOrt } from '../../../../tests/support/models.js';
import { checkModels } from '../../../../tests/support/onnx-checker.js';
import { analyzeChannels, type ChannelAnalysis, type ChannelAnalysisOptions } from '../channel-analysis.js';
import type { ChannelGroup } from '../channel-group.js';

/** A tensor of seeded random values whose slices `dead` along axis 0 are zero. */
export function weight(dims: number[], seed: number, dead: readonly number[] = [], scale = 0.5): Tensor<'float32'> {
  const t = randomTensor(dims, seed, scale);
  const row = t.size / dims[0];
  for (const d of dead) t.data.fill(0, d * row, (d + 1) * row);
  return t;
}

export const int64 = (values: readonly number[]): Tensor => Tensor.from('int64', [values.length], values.map(BigInt));

export class ChannelNet {
  readonly graph = new Graph('net');
  private count = 0;

  input(shape: number[], name = 'x'): Value {
    return this.graph.addInput(name, tensorType('float32', shape));
  }
  constant(name: string, t: Tensor): Value {
    return this.graph.addInitializer(name, t);
  }
  /** A node named `name` (default: op type and a counter); `domain` for custom ops. */
  node(
    opType: string,
    inputs: (Value | undefined)[],
    attributes: Record<string, unknown> = {},
    options: { name?: string; domain?: string; outputs?: number } = {},
  ): Node {
    const name = options.name ?? `${opType.toLowerCase()}${this.count++}`;
    return this.graph.op(opType, inputs, attributes as never, { ...options, name });
  }
  op(opType: string, inputs: (Value | undefined)[], attributes: Record<string, unknown> = {}, name?: string): Value {
    return this.node(opType, inputs, attributes, { name }).outputs[0];
  }
  /** Conv of C → M channels, k×k with same padding; output channels in `dead` are inert. */
  conv(
    x: Value,
    channels: { in: number; out: number },
    name: string,
    options: { dead?: number[]; group?: number; k?: number; bias?: boolean } = {},
  ): Value {
    const { k = 3, group = 1, dead = [] } = options;
    const seed = 10 * ++this.count;
    const inputs = [x, this.constant(`${name}.w`, weight([channels.out, channels.in / group, k, k], seed, dead))];
    if (options.bias !== false) inputs.push(this.constant(`${name}.b`, weight([channels.out], seed + 1, dead, 0.1)));
    const pads = Array<number>(4).fill(Math.floor(k / 2));
    return this.node('Conv', inputs, { pads, ...(group > 1 ? { group } : {}) }, { name }).outputs[0];
  }
  /** Gemm with transB: K → N features, rows in `dead` inert. */
  gemm(x: Value, features: { in: number; out: number }, name: string, dead: number[] = []): Value {
    const seed = 10 * ++this.count;
    const w = this.constant(`${name}.w`, weight([features.out, features.in], seed, dead, 0.2));
    const b = this.constant(`${name}.b`, weight([features.out], seed + 1, dead, 0.1));
    return this.node('Gemm', [x, w, b], { transB: 1 }, { name }).outputs[0];
  }
  /** The model with `y` as its one output 'y' (opset 17 unless given). */
  model(y: Value, shape: number[], opset = 17): Model {
    y.name = 'y';
    y.type = tensorType('float32', shape);
    this.graph.outputs.push(y);
    return new Model(this.graph, { opsetImports: new Map([['', opset]]), irVersion: 8 });
  }
}

/** The analysis of a copy of `model` after shape inference, as pruneChannels runs it. */
export function analyze(model: Model, options?: ChannelAnalysisOptions): ChannelAnalysis {
  const work = model.clone();
  inferShapes(work, { strict: false });
  return analyzeChannels(work, options);
}

/** The group whose channels `producer` makes (by node name, cut parts excluded). */
export function groupOf(analysis: ChannelAnalysis, producer: string): ChannelGroup {
  const found = analysis.groups.filter((g) => g.sources.some((s) => s.node.name === producer));
  expect(found, `groups made by '${producer}'`).toHaveLength(1);
  return found[0];
}

/** How a slice reads in assertions: `node:input@axis+offset×expansion`. */
export const sliceNames = (group: ChannelGroup, kind: 'sources' | 'params' | 'consumers'): string[] =>
  group[kind].map(
    (s) => `${s.node.name}:${s.input}@${s.axis}+${s.offset}×${s.expansion}${s.modulo ? `%${s.modulo}` : ''}`,
  );

/**
 * onnxruntime gives `after` the outputs of `before` (within float rounding) on two seeded
 * inputs, and the ONNX checker accepts `after`.
 */
export async function expectSameOutputs(before: Model, after: Model, inputShape: number[]): Promise<void> {
  for (const seed of [1, 2]) {
    const feeds = { x: randomTensor(inputShape, seed) };
    const a = (await runOrt(before, feeds)).y.data as Float32Array;
    const b = (await runOrt(after, feeds)).y.data as Float32Array;
    expect(b.length).toBe(a.length);
    expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]) / (1 + Math.abs(v))))).toBeLessThan(1e-5);
  }
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-prune-rule-')), 'pruned.onnx');
  fs.writeFileSync(file, encodeModel(after));
  expect(checkModels([file]).get(file)).toBeNull();
}
