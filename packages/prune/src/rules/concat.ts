/**
 * Concat on the channel axis lays its inputs' channels end to end: each input's groups sit at
 * their offset in the output, and inputs without prunable channels become fixed segments.
 */
import type { ChannelSegment } from '../channel-group.js';
import { isChannelAxis } from './helpers.js';
import type { ChannelRule } from './rule.js';

export const concatRule: ChannelRule = {
  propagate(node, context) {
    const parts = node.inputs.map((v) => context.layoutOf(v));
    if (!parts.some(Boolean)) return;
    const axis = node.attr('axis', 'int', 0);
    if (!isChannelAxis(axis, node.outputs[0].shape?.length ?? 0)) {
      for (const part of parts) context.freeze(part, `${context.label(node)} joins along axis ${axis}, not channels`);
      return;
    }
    const layout: ChannelSegment[] = [];
    node.inputs.forEach((value, i) => {
      const part = parts[i];
      const channels = value?.shape?.[1];
      if (part) layout.push(...part);
      else if (typeof channels === 'number') layout.push({ fixed: channels, expansion: 1 });
      // Offsets after an input of unknown width are unknown: nothing here may move.
      else for (const p of parts) context.freeze(p, `${context.label(node)} has an input of unknown channels`);
    });
    context.setLayout(node.outputs[0], layout);
  },
};
