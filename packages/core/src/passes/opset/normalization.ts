/**
 * BatchNormalization (9: spatial removed; 14: training_mode and new training outputs; 15:
 * separate types for scale/bias and mean/var) and GroupNormalization (18: scale and bias per
 * group; 21: per channel, with stash_type).
 */
import { replaceNode } from '../../ir/editing.js';
import type { Value } from '../../ir/value.js';
import { fromFloat64 } from '../../ops/numeric.js';
import { KEEP, type VersionAdapter } from './adapter.js';
import type { AdapterContext } from './context.js';

/** True when a node output beyond the first is read (training statistics). */
function readsExtraOutputs(ctx: AdapterContext): boolean {
  return ctx.node.outputs.slice(1).some((o) => o.name && (o.uses().length || ctx.graph.outputs.includes(o)));
}

/**
 * BatchNormalization-9: spatial is gone (always per channel). spatial=0 (statistics per
 * activation, shaped like one sample) becomes the formula in elementwise ops, which broadcast
 * the statistics over the batch exactly as spatial=0 did.
 */
export const batchNorm9: VersionAdapter = {
  up: (ctx) => {
    const node = ctx.node;
    const spatial = node.attr('spatial', 'int', 1);
    node.attributes.delete('spatial');
    if (spatial === 1) return;
    if (readsExtraOutputs(ctx)) ctx.fail('spatial=0 in training mode has no equivalent from opset 9', KEEP);
    const [x, scale, bias, mean, variance] = node.inputs as Value[];
    const dtype = ctx.requireDtype(0, 'writing spatial=0 as elementwise ops');
    const b = ctx.builder();
    const eps = b.constant(`${ctx.label}_epsilon`, fromFloat64(dtype, [], [node.attr('epsilon', 'float', 1e-5)]));
    const [centered] = b.op('Sub', [x, mean]);
    const [shifted] = b.op('Add', [variance, eps]);
    const [std] = b.op('Sqrt', [shifted]);
    const [normed] = b.op('Div', [centered, std]);
    const [scaled] = b.op('Mul', [normed, scale]);
    const [y] = b.op('Add', [scaled, bias]);
    replaceNode(node, b.nodes, [y]);
  },
};

/** BatchNormalization-14: training_mode; the training outputs are running statistics now. */
export const batchNorm14: VersionAdapter = {
  up: (ctx) => {
    if (readsExtraOutputs(ctx))
      ctx.fail('training-mode outputs (mean, var, saved_mean, saved_var) changed meaning at opset 14', KEEP);
    ctx.node.truncateInputs(5);
  },
  down: (ctx) => {
    if (ctx.node.attr('training_mode', 'int', 0)) ctx.fail('training_mode=1 has no equivalent before opset 14', KEEP);
    ctx.node.attributes.delete('training_mode');
  },
};

/** BatchNormalization-15: scale/bias and mean/var may differ in type from X. */
export const batchNorm15: VersionAdapter = {
  down: (ctx) => {
    const x = ctx.dtype(ctx.node.inputs[0]);
    for (const v of ctx.node.inputs.slice(1)) {
      const t = ctx.dtype(v);
      if (x && t && t !== x)
        ctx.fail(`input '${v!.name}' is ${t} while X is ${x}; one type for all inputs is required before 15`, KEEP);
    }
  },
};

/** Each of the `groups` values repeated `per` times: per-group parameters spelled per channel. */
function repeatPerChannel(ctx: AdapterContext, v: Value, groups: number, channels: number): Value {
  const per = channels / groups;
  const t = ctx.constant(v);
  if (t) {
    const values = t.toFloat64();
    const out = Float64Array.from({ length: channels }, (_, c) => values[Math.floor(c / per)]);
    return ctx.builder().constant(`${v.name}_per_channel`, fromFloat64(t.dtype, [channels], out));
  }
  const b = ctx.builder();
  const [column] = b.op('Reshape', [v, ctx.ints('groups_column', [groups, 1])]);
  const [tiled] = b.op('Expand', [column, ctx.ints('groups_expand', [groups, per])]);
  const [flat] = b.op('Reshape', [tiled, ctx.ints('channels', [channels])]);
  b.insertBefore(ctx.node);
  return flat;
}

/** The per-group values of a per-channel constant, when every group's channels share one value. */
function perGroup(ctx: AdapterContext, v: Value, groups: number): Value | undefined {
  const t = ctx.constant(v);
  if (!t) return undefined;
  const values = t.toFloat64();
  const per = values.length / groups;
  const out = Float64Array.from({ length: groups }, (_, g) => values[g * per]);
  if (!values.every((x, c) => x === out[Math.floor(c / per)])) return undefined;
  return ctx.builder().constant(`${v.name}_per_group`, fromFloat64(t.dtype, [groups], out));
}

/**
 * GroupNormalization-21: scale and bias have one value per channel (18: one per group). Up
 * repeats each group's value over its channels. Down folds them back where every group's
 * channels share a value; otherwise it normalises with unit scale and zero bias and applies the
 * per-channel scale and bias after, in elementwise ops.
 */
export const groupNorm21: VersionAdapter = {
  up: (ctx) => {
    const groups = ctx.node.attr('num_groups', 'int')!;
    const channels = ctx.shape(ctx.node.inputs[0])?.[1];
    if (typeof channels !== 'number')
      return ctx.fail('spelling scale and bias per channel needs the channel count, which is not known', KEEP);
    for (const index of [1, 2]) {
      const v = ctx.node.inputs[index]!;
      ctx.node.setInput(index, repeatPerChannel(ctx, v, groups, channels));
      ctx.discard(v);
    }
  },
  down: (ctx) => {
    const node = ctx.node;
    const groups = node.attr('num_groups', 'int')!;
    node.attributes.delete('stash_type');
    const [x, scale, bias] = node.inputs as Value[];
    const folded = [perGroup(ctx, scale, groups), perGroup(ctx, bias, groups)];
    if (folded[0] && folded[1]) {
      node.setInput(1, folded[0]);
      node.setInput(2, folded[1]);
      [scale, bias].forEach((v) => ctx.discard(v));
      return;
    }
    folded.forEach((v) => ctx.discard(v));
    const rank = ctx.requireRank(0, 'applying per-channel scale and bias after the normalisation');
    const dtype = ctx.requireDtype(0, 'a unit scale and zero bias per group');
    const b = ctx.builder();
    const ones = b.constant(`${ctx.label}_unit_scale`, fromFloat64(dtype, [groups], new Float64Array(groups).fill(1)));
    const zeros = b.constant(`${ctx.label}_zero_bias`, fromFloat64(dtype, [groups], new Float64Array(groups)));
    const column = ctx.ints('channel_column', [-1, ...new Array<number>(rank - 2).fill(1)]);
    const [normed] = b.op('GroupNormalization', [x, ones, zeros], {
      num_groups: groups,
      epsilon: node.attr('epsilon', 'float', 1e-5),
    });
    const [s] = b.op('Reshape', [scale, column]);
    const [t] = b.op('Reshape', [bias, column]);
    const [scaled] = b.op('Mul', [normed, s]);
    const [y] = b.op('Add', [scaled, t]);
    replaceNode(node, b.nodes, [y]);
  },
};
