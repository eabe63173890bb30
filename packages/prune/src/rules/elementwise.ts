/**
 * Elementwise ops over broadcast inputs (Add, Mul, …): every input with channels must
 * lose the same ones, so their groups are united segment by segment (a residual Add ties both
 * producers), and constants broadcast along the channel axis are per-channel parameters.
 */
import type { Tensor } from '@edgeml/core';
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
    for (const layout of withLayout.slice(1)) {
      if (!sameLayout(layout, first)) {
        context.freeze(layout, `${context.label(node)} combines differently laid out channels`);
        context.freeze(first, `${context.label(node)} combines differently laid out channels`);
        return;
      }
      layout.forEach((segment, i) => {
        const other = first[i];
        if ('group' in segment && 'group' in other)
          context.unite(segment.group, other.group, `${context.label(node)} combines channels of different sizes`);
      });
    }
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

/** Layouts that match segment for segment: the same kinds with the same expansions. */
const sameLayout = (a: ChannelLayout, b: ChannelLayout): boolean =>
  a.length === b.length && a.every((s, j) => s.expansion === b[j].expansion && 'group' in s === 'group' in b[j]);

/** The axis of a constant that broadcasts along the output's channel axis with one value per channel. */
function perChannelAxis(t: Tensor, rank: number): number | undefined {
  // Broadcasting aligns from the right: the output's axis 1 is the constant's axis dims − (rank − 1).
  const axis = t.dims.length - (rank - 1);
  const oneAxis = t.dims.filter((d) => d !== 1).length === 1;
  return rank >= 2 && axis >= 0 && oneAxis && t.dims[axis] === t.size ? axis : undefined;
}
