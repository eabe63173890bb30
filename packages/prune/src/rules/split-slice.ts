/**
 * Split and Slice on the channel axis cut a group into consecutive parts that prune on their
 * own; once pruned, the split sizes and slice bounds are rewritten to the parts' new sizes.
 */
import { Tensor, type Model, type Node } from '@edgeml/core';
import { soleGroup, type ChannelCut } from '../channel-group.js';
import { isChannelAxis } from './helpers.js';
import type { ChannelRule } from './rule.js';

export const splitRule: ChannelRule = {
  propagate(node, context) {
    const x = context.layoutOf(node.inputs[0]);
    if (!x) return;
    const axis = node.attr('axis', 'int', 0);
    if (!isChannelAxis(axis, node.inputs[0]!.shape?.length ?? 0)) {
      context.freeze(x, `${context.label(node)} splits along axis ${axis}, not channels`);
      return;
    }
    const sizes =
      node.inputs[1]?.const?.toNumbers() ??
      node.attr('split', 'ints') ??
      node.outputs.map((o) => o.shape?.[1]).filter((d): d is number => typeof d === 'number');
    const group = soleGroup(x);
    if (!group || sizes.length !== node.outputs.length || sizes.reduce((a, b) => a + b, 0) !== group.size) {
      context.freeze(x, `${context.label(node)} splits channels it cannot follow`);
      return;
    }
    const parts = context.cut(group.root(), sizes, context.label(node));
    parts?.forEach((part, index) => {
      part.cuts.push({ node, parts, index });
      context.setLayout(node.outputs[index], [{ group: part, expansion: 1 }]);
    });
  },
};

export const sliceRule: ChannelRule = {
  propagate(node, context) {
    const x = context.layoutOf(node.inputs[0]);
    if (!x) return;
    const bounds = sliceBounds(node);
    if (!bounds) {
      context.freeze(x, `${context.label(node)} slices with computed bounds`);
      return;
    }
    if (bounds.at < 0) {
      context.setLayout(node.outputs[0], x);
      return;
    }
    const { starts, ends, steps, at } = bounds;
    const group = soleGroup(x);
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + group!.size : v, 0), group!.size);
    const [begin, end] = group ? [clamp(starts[at]), clamp(ends[at])] : [0, 0];
    if (!group || (steps?.[at] ?? 1) !== 1 || starts.length > 1 || end <= begin) {
      context.freeze(x, `${context.label(node)} slices channels in a way it cannot follow`);
      return;
    }
    const sizes = [begin, end - begin, group.size - end].filter((n) => n > 0);
    const parts = context.cut(group.root(), sizes, context.label(node));
    if (!parts) return;
    const index = begin > 0 ? 1 : 0;
    parts[index].cuts.push({ node, parts, index });
    context.setLayout(node.outputs[0], [{ group: parts[index], expansion: 1 }]);
  },
};

/**
 * A Slice's constant bounds (opset 10+ inputs) and `at`, the position of the channel axis in
 * them (−1 when the channels are not sliced). Undefined when any bound is computed.
 */
function sliceBounds(node: Node): { starts: number[]; ends: number[]; steps?: number[]; at: number } | undefined {
  const [starts, ends, axes, steps] = [1, 2, 3, 4].map((i) => node.inputs[i]?.const?.toNumbers());
  // A computed `axes` or `steps` would be read as its default, which it may not be.
  if (!starts || !ends || (node.inputs[3] && !axes) || (node.inputs[4] && !steps)) return undefined;
  const rank = node.inputs[0]!.shape?.length ?? 0;
  return { starts, ends, steps, at: (axes ?? starts.map((_, i) => i)).findIndex((a) => isChannelAxis(a, rank)) };
}

/** After pruning: a cut's Split sizes or Slice bounds become its parts' kept channel counts. */
export function resizeCut(model: Model, cut: ChannelCut, sizes: readonly number[]): void {
  const { node } = cut;
  const graph = node.graph!;
  const int64 = (values: readonly number[]) => Tensor.from('int64', [values.length], values.map(BigInt));
  if (node.opType === 'Split') {
    // Split sizes moved from an attribute to input 1 in opset 13.
    if ((model.opset() ?? 0) >= 13)
      node.setInput(1, graph.addInitializer(graph.uniqueName(`${node.name || 'split'}_sizes`), int64(sizes)));
    else node.setAttr('split', 'ints', [...sizes]);
    node.attributes.delete('num_outputs');
    return;
  }
  const start = sizes.slice(0, cut.index).reduce((a, b) => a + b, 0);
  const at = sliceBounds(node)!.at;
  const rewrite = (input: 1 | 2, value: number) => {
    const old = node.inputs[input]!.const!;
    const values = old.toNumbers();
    values[at] = value;
    const name = graph.uniqueName(`${node.name || 'slice'}_${input === 1 ? 'starts' : 'ends'}`);
    node.setInput(
      input,
      graph.addInitializer(name, Tensor.from(old.dtype as 'int64', [values.length], values.map(BigInt))),
    );
  };
  rewrite(1, start);
  rewrite(2, start + sizes[cut.index]);
}
