/**
 * Softmax, LogSoftmax and Hardmax at 13. Before 13 they coerce the input to 2-D at `axis`
 * (default 1) and normalise over everything from `axis` on; from 13 they normalise over the
 * one axis `axis` (default -1). The two agree when `axis` is the last dimension; otherwise up
 * is Flatten → op → Reshape to the input's shape, and down moves the axis last with a
 * Transpose, applies the op there, and moves it back.
 */
import { replaceNode } from '../../ir/editing.js';
import type { VersionAdapter } from './adapter.js';
import type { AdapterContext } from './context.js';

function up(ctx: AdapterContext): void {
  const node = ctx.node;
  const x = node.inputs[0]!;
  const axis = node.attr('axis', 'int', 1);
  const rank = ctx.rank(x);
  if (rank !== undefined && (axis < 0 ? axis + rank : axis) === rank - 1) {
    node.setAttr('axis', 'int', rank - 1);
    return;
  }
  const b = ctx.builder();
  const [shape] = b.op('Shape', [x], {}, [`${x.name}_shape`]);
  const [flat] = b.op('Flatten', [x], { axis }, [`${x.name}_2d`]);
  const [y2] = b.op(node.opType, [flat], { axis: 1 }, [`${node.outputs[0].name}_2d`]);
  const [y] = b.op('Reshape', [y2, shape], {}, [node.outputs[0].name]);
  replaceNode(node, b.nodes, [y]);
}

function down(ctx: AdapterContext): void {
  const node = ctx.node;
  const x = node.inputs[0]!;
  const axis = node.attr('axis', 'int', -1);
  // Before 13 the default axis is 1: always spell the axis out.
  if (axis === -1) return node.setAttr('axis', 'int', -1);
  const rank = ctx.requireRank(0, `normalising over axis ${axis} alone`);
  const a = axis < 0 ? axis + rank : axis;
  if (a === rank - 1) return node.setAttr('axis', 'int', a);
  const perm = Array.from({ length: rank }, (_, i) => (i === a ? rank - 1 : i === rank - 1 ? a : i));
  const b = ctx.builder();
  const [moved] = b.op('Transpose', [x], { perm }, [`${x.name}_axis_last`]);
  const [y2] = b.op(node.opType, [moved], { axis: rank - 1 }, [`${node.outputs[0].name}_axis_last`]);
  const [y] = b.op('Transpose', [y2], { perm }, [node.outputs[0].name]);
  replaceNode(node, b.nodes, [y]);
}

export const softmax13: VersionAdapter = { up, down };
