/**
 * The channel analysis while it walks the graph: the layout of every value reached so far and
 * the groups made, with the verbs rules use on them ({@link ChannelRuleContext}).
 */
import { isDefaultDomain, type Node, type Value } from '@edgeml/core';
import { ChannelGroup, type ChannelLayout, type ChannelSlice } from './channel-group.js';
import { freezeInputs } from './rules/helpers.js';
import type { ChannelRule, ChannelRuleContext, SliceKind } from './rules/rule.js';

export class AnalysisState implements ChannelRuleContext {
  readonly groups: ChannelGroup[] = [];
  readonly layouts = new Map<Value, ChannelLayout>();
  /** Values the running rule asked about: the inputs it took charge of. */
  private readonly read = new Set<Value>();

  /** Run a node's rule; channels reaching an op without one, or an input its rule ignored, are frozen. */
  visit(node: Node, rule: ChannelRule | undefined): void {
    const label = this.label(node);
    if (!rule) {
      freezeInputs(
        node,
        this,
        isDefaultDomain(node) ? `${label} reads it` : `${label} (domain ${node.domain}) reads it`,
      );
      return;
    }
    this.read.clear();
    rule.propagate(node, this);
    node.inputs.forEach((value, i) => {
      if (value && !this.read.has(value))
        this.freeze(this.layouts.get(value), `${label} reads it as input ${i}, which its channel rule does not follow`);
    });
  }

  layoutOf(value: Value | undefined): ChannelLayout | undefined {
    if (!value) return undefined;
    this.read.add(value);
    return this.layouts.get(value);
  }

  setLayout(value: Value, layout: ChannelLayout): void {
    this.layouts.set(value, layout);
  }

  newGroup(size: number, origin: string): ChannelGroup {
    const group = new ChannelGroup(this.groups.length, size, origin);
    this.groups.push(group);
    return group;
  }

  freeze(layout: ChannelLayout | undefined, reason: string): void {
    for (const segment of layout ?? []) if ('group' in segment) segment.group.root().frozen ??= reason;
  }

  unite(a: ChannelGroup, b: ChannelGroup, reason: string): void {
    const [ra, rb] = [a.root(), b.root()];
    if (ra === rb) return;
    if (ra.size !== rb.size) {
      ra.frozen ??= reason;
      rb.frozen ??= reason;
      return;
    }
    rb.parent = ra;
    ra.frozen ??= rb.frozen;
  }

  sliceAlong(layout: ChannelLayout, kind: SliceKind, node: Node, input: number, axis: number): void {
    let offset = 0;
    for (const segment of layout) {
      if ('group' in segment) segment.group[kind].push({ node, input, axis, offset, expansion: segment.expansion });
      offset += ('group' in segment ? segment.group.size : segment.fixed) * segment.expansion;
    }
  }

  cut(group: ChannelGroup, sizes: readonly number[], where: string): ChannelGroup[] | undefined {
    // A united or grouped group's channels are indexed in other tensors too; parts could not follow them all.
    if (
      group.root() !== group ||
      this.groups.some((o) => o !== group && o.root() === group) ||
      group.convolutionGroups > 1
    ) {
      group.frozen ??= `${where} cuts channels that are tied to others`;
      return undefined;
    }
    let start = 0;
    const parts = sizes.map((size) => {
      const part = this.newGroup(size, group.origin);
      const shift = (from: ChannelSlice[], into: ChannelSlice[]) => {
        for (const slice of from) into.push({ ...slice, offset: slice.offset + start * slice.expansion });
      };
      shift(group.sources, part.sources);
      shift(group.params, part.params);
      shift(group.consumers, part.consumers);
      part.depthwise.push(...group.depthwise);
      part.batchNorms.push(...group.batchNorms);
      part.frozen = group.frozen;
      start += size;
      return part;
    });
    group.parts = parts;
    group.frozen = 'cut into parts';
    for (const [value, layout] of this.layouts)
      if (layout.some((s) => 'group' in s && s.group === group))
        this.layouts.set(
          value,
          layout.flatMap((s) =>
            'group' in s && s.group === group ? parts.map((p) => ({ group: p, expansion: s.expansion })) : [s],
          ),
        );
    return parts;
  }

  label(node: Node): string {
    return `${node.opType} '${node.name || node.outputs[0]?.name}'`;
  }

  /** Merge united groups' lists into their roots and return the roots that were not cut into parts. */
  roots(): ChannelGroup[] {
    const roots = [...new Set(this.groups.map((g) => g.root()))];
    for (const group of this.groups) {
      const root = group.root();
      if (root === group) continue;
      root.sources.push(...group.sources);
      root.params.push(...group.params);
      root.consumers.push(...group.consumers);
      root.depthwise.push(...group.depthwise);
      root.batchNorms.push(...group.batchNorms);
      root.cuts.push(...group.cuts);
      if (group.convolutionGroups !== 1) {
        if (root.convolutionGroups !== 1 && root.convolutionGroups !== group.convolutionGroups)
          root.frozen ??= 'united channels are grouped differently';
        root.convolutionGroups = group.convolutionGroups;
      }
      if (group.frozen) root.frozen ??= group.frozen;
    }
    return roots.filter((g) => !g.parts);
  }
}
