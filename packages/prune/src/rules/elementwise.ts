/**
 * Elementwise ops over broadcast inputs (Add, Mul, …, PRelu): every input with channels must
 * lose the same ones, so their groups are united segment by segment (a residual Add ties both
 * producers), and constants broadcast along the channel axis are per-channel parameters.
 */
import type { Node, Tensor } from '@edgeml/core';
import type { ChannelLayout } from '../channel-group.js';
import type { ChannelRule } from './rule.js';

/**
 * The rule of elementwise ops with broadcasting: inputs with channels are united, scalars pass,
 * per-channel constants ([C,1,1], [1,C,1,1], [C] for a matrix) lose channels with them, and any
 * other input freezes the channels it meets. Fits custom elementwise ops too.
 */
export const elementwiseRule: ChannelRule = {
  propagate(node, context) {
    const layouts = node.inputs.map((v) => context.layoutOf(v));
    const withLayout = layouts.filter((l): l is ChannelLayout => !!l);
    if (!withLayout.length) return;
    const first = withLayout[0];
    const reason = alignmentProblem(node, layouts);
    if (reason) {
      for (const layout of withLayout) context.freeze(layout, `${context.label(node)} ${reason}`);
      return;
    }
    for (const layout of withLayout.slice(1))
      layout.forEach((segment, i) => {
        const other = first[i];
        if ('group' in segment && 'group' in other)
          context.unite(segment.group, other.group, `${context.label(node)} combines channels of different sizes`);
      });
    const rank = node.outputs[0]?.shape?.length ?? 0;
    node.inputs.forEach((value, i) => {
      if (!value || layouts[i]) return;
      const t = value.const;
      if (t && t.size === 1) return;
      const axis = t && perChannelAxis(t, rank);
      if (axis !== undefined) context.sliceAlong(first, 'params', node, i, axis);
      else
        for (const layout of withLayout)
          context.freeze(layout, `${context.label(node)} combines it with '${value.name}', which cannot lose channels`);
    });
    if (node.outputs[0]) context.setLayout(node.outputs[0], first);
  },
};

/**
 * Why the inputs' channels cannot be lined up, if they cannot: layouts must match segment for
 * segment, and an input of lower rank would broadcast its channel axis onto another axis.
 */
function alignmentProblem(node: Node, layouts: (ChannelLayout | undefined)[]): string | undefined {
  const rank = node.outputs[0]?.shape?.length;
  const first = layouts.find(Boolean)!;
  for (const [i, layout] of layouts.entries()) {
    if (!layout) continue;
    const inputRank = node.inputs[i]!.shape?.length;
    if (rank !== undefined && inputRank !== undefined && inputRank !== rank)
      return `broadcasts the channels of '${node.inputs[i]!.name}' onto another axis`;
    if (
      layout.length !== first.length ||
      layout.some((s, j) => s.expansion !== first[j].expansion || 'group' in s !== 'group' in first[j])
    )
      return 'combines differently laid out channels';
  }
  return undefined;
}

/** The axis of a constant that broadcasts along the output's channel axis with one value per channel. */
function perChannelAxis(t: Tensor, rank: number): number | undefined {
  // Broadcasting aligns from the right: the output's axis 1 is the constant's axis dims − (rank − 1).
  const axis = t.dims.length - (rank - 1);
  const oneAxis = t.dims.filter((d) => d !== 1).length === 1;
  return rank >= 2 && axis >= 0 && oneAxis && t.dims[axis] === t.size ? axis : undefined;
}
