/**
 * The shape of one op version change and the adapters most changes share: nothing but the
 * version number (`compatible`), element types added (`typesAdded`: down is exact while the
 * model does not use them), negative axes allowed, an attribute added with a default.
 */
import { replaceNode } from '../../ir/editing.js';
import { Node, type NodeInit } from '../../ir/node.js';
import type { DType } from '../../tensor/dtype.js';
import type { AdapterContext } from './context.js';

/** Rewrites `ctx.node` from its form at `ctx.from` into its form at `ctx.to`, in place or by replacing it. */
export type Adapt = (ctx: AdapterContext) => void;

/**
 * How to cross one version change of an op (the version at which its schema changed): `up`
 * rewrites the previous form into this one, `down` this form into the previous one. Either
 * left out means the node is valid as it is; an op's first version has no `down` unless some
 * other op stands for it below (Resize-10 becomes Upsample-9).
 */
export interface VersionAdapter {
  readonly up?: Adapt;
  readonly down?: Adapt;
}

/** Only the version number changes (clarified wording, new optional outputs nobody reads...). */
export const compatible: VersionAdapter = {};

/**
 * Element types `dtypes` became legal: up is free; down is exact while the data (input 0) and
 * the outputs do not use them (other inputs of such ops share the data's type, or are indices).
 */
export function typesAdded(...dtypes: DType[]): VersionAdapter {
  const added = new Set<DType>(dtypes);
  return {
    down: (ctx) => {
      for (const v of [ctx.node.inputs[0], ...ctx.node.outputs]) {
        const dtype = ctx.dtype(v);
        if (dtype && added.has(dtype))
          ctx.fail(`'${v!.name}' is ${dtype}, which the op accepts only from opset ${ctx.from}`, KEEP);
      }
    },
  };
}

/** Apply adapters in order (one version change that is several of the simple kinds at once). */
export function both(...adapters: VersionAdapter[]): VersionAdapter {
  const ups = adapters.flatMap((a) => (a.up ? [a.up] : []));
  const downs = adapters.flatMap((a) => (a.down ? [a.down] : []));
  return {
    up: ups.length ? (ctx) => ups.forEach((f) => f(ctx)) : undefined,
    down: downs.length ? (ctx) => downs.forEach((f) => f(ctx)) : undefined,
  };
}

/**
 * An attribute that appeared at this version with `fallback` as its default: down drops it
 * when it holds the default and refuses otherwise.
 */
export function attributeAdded(name: string, fallback: number | string, meaning: string): VersionAdapter {
  return {
    down: (ctx) => {
      const a = ctx.node.attributes.get(name);
      if (a && a.value !== fallback)
        ctx.fail(`${name}=${JSON.stringify(a.value)} (${meaning}) has no equivalent before opset ${ctx.from}`, KEEP);
      ctx.node.attributes.delete(name);
    },
  };
}

/**
 * Negative values of an axis attribute (an int, or ints when `list`) became legal: down makes
 * them positive from input `input`'s rank (`outputRank`: axes index the output, as Unsqueeze's do).
 */
export function negativeAxes(name: string, options: { list?: boolean; input?: number; outputRank?: boolean } = {}) {
  return {
    down: (ctx: AdapterContext) => {
      const input = options.input ?? 0;
      const why = `making negative ${name} positive`;
      if (options.list) {
        const axes = ctx.node.attr(name, 'ints');
        if (!axes?.some((a) => a < 0)) return;
        const extra = options.outputRank ? axes.length : 0;
        ctx.node.setAttr(
          name,
          'ints',
          axes.map((a) => ctx.axis(a, input, why, extra)),
        );
      } else {
        const axis = ctx.node.attr(name, 'int');
        if (axis !== undefined && axis < 0) ctx.node.setAttr(name, 'int', ctx.axis(axis, input, why));
      }
    },
  } satisfies VersionAdapter;
}

export const KEEP = 'keep a higher opset for this model';

/**
 * Replace the node by one of op `opType` with the same inputs, outputs and attributes (or
 * `attributes` when given), keeping its name: for ops ONNX renamed (Upsample → Resize).
 */
export function renameOp(ctx: AdapterContext, opType: string, attributes?: NodeInit['attributes']): Node {
  const node = ctx.node;
  const next = new Node({
    opType,
    name: ctx.graph.names.node(node.name ? `${node.name}_${opType}` : opType),
    inputs: node.inputs,
    outputs: node.outputs.map((o) => ctx.graph.names.value(`${o.name}_${opType}`)),
    attributes: attributes ?? [...node.attributes.values()],
  });
  next.docString = node.docString;
  replaceNode(node, next);
  // Tools and users refer to nodes by name: the replacement keeps it.
  if (node.name) next.name = node.name;
  return next;
}
