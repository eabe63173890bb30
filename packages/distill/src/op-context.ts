import { InvalidArgumentError, type Node } from '@edgeml/core';
import { tf } from './tf.js';

/** What an op implementation sees: the node, its inputs as tfjs tensors, and the mode. */
export interface OpContext {
  node: Node;
  inputs: (tf.Tensor | undefined)[];
  training: boolean;
  opset: number;
  /** Integer values of input i (a shape, axes, pads…): from the initializer, or read from the tensor. */
  ints(i: number): number[] | undefined;
  /** Float values of a scalar-ish input (Clip bounds, Pad value). */
  floats(i: number): number[] | undefined;
  /** Input i, which must be present. */
  input(i: number): tf.Tensor;
  /** Whether input i is model input data (no gradient needed through it). */
  isData(i: number): boolean;
  /** BatchNormalization running statistics to update in training (mean, var variables). */
  runningStats(node: Node): { mean: tf.Variable; variance: tf.Variable } | undefined;
}

/** One ONNX op on tfjs: outputs in order. */
export type TfOp = (ctx: OpContext) => (tf.Tensor | undefined)[];

/** Normalise a possibly negative axis against a rank. */
export function axisOf(axis: number, rank: number, ctx: OpContext): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw new InvalidArgumentError(
      `node '${ctx.node.name || ctx.node.opType}': axis ${axis} is out of range for rank ${rank}`,
      'axis',
    );
  return a;
}

/** Move `axis` last (and back): tfjs's softmax works on the last axis only. */
export function alongAxis(x: tf.Tensor, axis: number, f: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  const rank = x.rank;
  if (axis === rank - 1) return f(x);
  const perm = [...Array(rank).keys()].filter((d) => d !== axis).concat(axis);
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return tf.transpose(f(tf.transpose(x, perm)), inverse);
}
