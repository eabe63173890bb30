/**
 * Channel dependency analysis over the IR: which tensors share a channel axis, so that
 * removing channel c of one means removing it from all (Torch-Pruning's dependency graph,
 * on ONNX). Each "space" is a set of channels that must go together; tensors carry a layout of
 * segments (Concat joins several spaces, Flatten expands each channel into H·W features).
 * Anything it cannot prove safe freezes the spaces involved, with the reason.
 */
import { isDefaultDomain, type Graph, type Model, type Node, type Value } from '@edgeml/core';

/** Where channel c of a space lives in some tensor: a weight, a per-channel parameter, a reader's weight. */
export interface ChannelSlice {
  node: Node;
  /** The node input holding the constant to slice. */
  input: number;
  axis: number;
  /** Offset of this space's channels along the axis (Concat), and features per channel (Flatten). */
  offset: number;
  expansion: number;
  /** Grouped convolution input: channel c sits at index c mod `modulo` (its position within its group). */
  modulo?: number;
}

/** A Split or Slice that cuts a space along the channel axis; its sizes follow the kept channels. */
export interface ChannelCut {
  node: Node;
  /** The consecutive parts the cut made, and which one this space is (a Split output, or a Slice's kept range). */
  parts: Space[];
  index: number;
}

export class Space {
  parent: Space = this;
  frozen?: string;
  /** Where the channels are made: output channels of Conv/Gemm/MatMul weights and their biases. */
  readonly sources: ChannelSlice[] = [];
  /** Per-channel parameters riding along (BatchNorm, depthwise weights, broadcast constants). */
  readonly params: ChannelSlice[] = [];
  /** Readers' weights indexed by these channels (next Conv's input channels, Gemm columns). */
  readonly consumers: ChannelSlice[] = [];
  /** Depthwise convolutions whose group count follows this space's size. */
  readonly depthwise: Node[] = [];
  /** BatchNorm nodes over these channels (for the BN-scale criterion). */
  readonly batchNorms: Node[] = [];
  /** Channels come in this many equal groups and go position by position in every group (grouped convolutions). */
  groups = 1;
  /** Split outputs or Slices made of exactly these channels. */
  readonly cuts: ChannelCut[] = [];
  /** Replaced by these parts (a Split or Slice cut it); the parts carry its slices. */
  parts?: Space[];
  constructor(
    readonly id: number,
    readonly size: number,
    readonly origin: string,
  ) {}
  root(): Space {
    return this.parent === this ? this : this.parent.root();
  }
}

/** A tensor's channel axis as spaces laid end to end; `fixed` segments are channels that cannot move. */
type Segment = { space: Space; expansion: number } | { fixed: number; expansion: number };
type Layout = Segment[];

const PASS_THROUGH = new Set([
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Sigmoid',
  'Tanh',
  'Clip',
  'HardSigmoid',
  'HardSwish',
  'Gelu',
  'Elu',
  'Selu',
  'Softplus',
  'Softsign',
  'Identity',
  'Dropout',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'LpPool',
  'Neg',
  'Abs',
  'Sqrt',
  'Exp',
  'Erf',
  'Mish',
  'Swish',
  'Cast',
]);
const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean']);

export interface DependencyGraph {
  spaces: Space[];
  /** Spaces that can be pruned (roots, not frozen, with a producing weight). */
  prunable: Space[];
  /** Spaces left alone, with why. */
  frozen: { space: Space; reason: string }[];
}

const sizeOf = (layout: Layout) => layout.reduce((n, s) => n + ('space' in s ? s.space.size : s.fixed), 0);

/**
 * Analyse the main graph. Shapes must be known (run shape inference first); node names should
 * be unique so reports can name them.
 */
export function analyzeChannels(model: Model): DependencyGraph {
  const g: Graph = model.graph;
  const spaces: Space[] = [];
  const layouts = new Map<Value, Layout>();
  const newSpace = (size: number, origin: string) => {
    const s = new Space(spaces.length, size, origin);
    spaces.push(s);
    return s;
  };
  const freeze = (layout: Layout | undefined, reason: string) => {
    for (const seg of layout ?? []) if ('space' in seg) seg.space.root().frozen ??= reason;
  };
  const union = (a: Space, b: Space, where: string) => {
    const [ra, rb] = [a.root(), b.root()];
    if (ra === rb) return;
    if (ra.size !== rb.size) {
      ra.frozen ??= where;
      rb.frozen ??= where;
      return;
    }
    rb.parent = ra;
    ra.frozen ??= rb.frozen;
  };
  /** Record a constant indexed by the layout's channels along `axis` (per segment, with offsets). */
  const along = (layout: Layout, node: Node, input: number, axis: number, kind: 'params' | 'consumers') => {
    let offset = 0;
    for (const seg of layout) {
      if ('space' in seg) seg.space[kind].push({ node, input, axis, offset, expansion: seg.expansion });
      offset += ('space' in seg ? seg.space.size : seg.fixed) * seg.expansion;
    }
  };
  const label = (n: Node) => `${n.opType} '${n.name || n.outputs[0]?.name}'`;
  /**
   * Cut a space into consecutive parts (sizes summing to its size): every slice it has is
   * copied to each part at the part's offset, and every layout naming it names the parts.
   */
  const partition = (space: Space, sizes: number[], where: string): Space[] | undefined => {
    if (space.root() !== space || spaces.some((o) => o !== space && o.root() === space) || space.groups > 1) {
      space.frozen ??= `${where} cuts channels that are tied to others`;
      return undefined;
    }
    let start = 0;
    const parts = sizes.map((n) => {
      const part = newSpace(n, space.origin);
      const shift = (list: ChannelSlice[], into: ChannelSlice[]) => {
        for (const sl of list) into.push({ ...sl, offset: sl.offset + start * sl.expansion });
      };
      shift(space.sources, part.sources);
      shift(space.params, part.params);
      shift(space.consumers, part.consumers);
      part.depthwise.push(...space.depthwise);
      part.batchNorms.push(...space.batchNorms);
      part.frozen = space.frozen;
      start += n;
      return part;
    });
    space.parts = parts;
    space.frozen = 'cut into parts';
    for (const [v, layout] of layouts)
      if (layout.some((sg) => 'space' in sg && sg.space === space))
        layouts.set(
          v,
          layout.flatMap((sg) =>
            'space' in sg && sg.space === space ? parts.map((p) => ({ space: p, expansion: sg.expansion })) : [sg],
          ),
        );
    return parts;
  };
  const constIn = (n: Node, i: number) => (n.inputs[i]?.const ? n.inputs[i] : undefined);

  for (const node of g) {
    const x = node.inputs[0] ? layouts.get(node.inputs[0]) : undefined;
    const out = node.outputs[0];
    const known = isDefaultDomain(node);
    const readersOf = () => node.inputs.filter((v): v is Value => !!v && layouts.has(v));
    if (!known) {
      for (const v of readersOf()) freeze(layouts.get(v), `${label(node)} (domain ${node.domain}) reads it`);
      continue;
    }
    switch (node.opType) {
      case 'Conv': {
        const w = constIn(node, 1);
        const group = node.attr('group', 'int', 1);
        if (!w || w.const!.dims.length < 3) {
          freeze(x, `${label(node)} has a computed weight`);
          break;
        }
        const [M, cg] = w.const!.dims;
        if (group === 1) {
          if (x) {
            if (x.some((s) => s.expansion !== 1)) freeze(x, `${label(node)} reads expanded channels`);
            else along(x, node, 1, 1, 'consumers');
          }
          const s = newSpace(M, label(node));
          s.sources.push({ node, input: 1, axis: 0, offset: 0, expansion: 1 });
          if (constIn(node, 2)) s.sources.push({ node, input: 2, axis: 0, offset: 0, expansion: 1 });
          layouts.set(out, [{ space: s, expansion: 1 }]);
        } else if (x && cg === 1 && M === sizeOf(x) && group === M) {
          // Depthwise: channel c in, channel c out.
          along(x, node, 1, 0, 'params');
          if (constIn(node, 2)) along(x, node, 2, 0, 'params');
          for (const seg of x) if ('space' in seg) seg.space.depthwise.push(node);
          if (x.some((s) => !('space' in s))) freeze(x, `${label(node)} mixes fixed and prunable channels`);
          layouts.set(out, x);
        } else if (
          x &&
          x.length === 1 &&
          'space' in x[0] &&
          x[0].expansion === 1 &&
          M % group === 0 &&
          cg * group === x[0].space.size
        ) {
          // Grouped: input and output channels go position by position in every group, so the
          // groups stay equal and the weight loses the same input positions in each.
          const inSpace = x[0].space.root();
          if (inSpace.groups !== 1 && inSpace.groups !== group) {
            inSpace.frozen ??= `${label(node)} groups its channels by ${group}, another reader by ${inSpace.groups}`;
            break;
          }
          inSpace.groups = group;
          inSpace.consumers.push({ node, input: 1, axis: 1, offset: 0, expansion: 1, modulo: cg });
          const s = newSpace(M, label(node));
          s.groups = group;
          s.sources.push({ node, input: 1, axis: 0, offset: 0, expansion: 1 });
          if (constIn(node, 2)) s.sources.push({ node, input: 2, axis: 0, offset: 0, expansion: 1 });
          layouts.set(out, [{ space: s, expansion: 1 }]);
        } else {
          freeze(
            x,
            `grouped convolution ${label(node)} (group ${group}) reads channels it cannot keep in equal groups`,
          );
        }
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        const w = constIn(node, 1);
        const transB = node.opType === 'Gemm' && node.attr('transB', 'int', 0) === 1;
        if (!w || w.const!.dims.length !== 2 || (node.opType === 'Gemm' && node.attr('transA', 'int', 0))) {
          freeze(x, `${label(node)} has no plain constant weight`);
          break;
        }
        if (x) along(x, node, 1, transB ? 1 : 0, 'consumers');
        const N = transB ? w.const!.dims[0] : w.const!.dims[1];
        const s = newSpace(N, label(node));
        s.sources.push({ node, input: 1, axis: transB ? 0 : 1, offset: 0, expansion: 1 });
        if (node.opType === 'Gemm' && constIn(node, 2)?.const?.dims.length === 1)
          s.sources.push({ node, input: 2, axis: 0, offset: 0, expansion: 1 });
        else if (node.opType === 'Gemm' && node.inputs[2])
          s.frozen = `${label(node)} has a bias that is not per output`;
        if (out.shape?.length === 2) layouts.set(out, [{ space: s, expansion: 1 }]);
        else s.frozen = `${label(node)} output is not a matrix`;
        break;
      }
      case 'BatchNormalization': {
        if (!x) break;
        for (let i = 1; i <= 4; i++) {
          if (!constIn(node, i)) {
            freeze(x, `${label(node)} has computed parameters`);
            break;
          }
          along(x, node, i, 0, 'params');
        }
        for (const seg of x) if ('space' in seg) seg.space.batchNorms.push(node);
        layouts.set(out, x);
        break;
      }
      case 'Concat': {
        const axis = node.attr('axis', 'int', 0);
        const rank = out.shape?.length ?? 0;
        const parts = node.inputs.map((v) => (v ? layouts.get(v) : undefined));
        if (!parts.some(Boolean)) break;
        if ((axis < 0 ? axis + rank : axis) !== 1) {
          for (const p of parts) freeze(p, `${label(node)} joins along axis ${axis}, not channels`);
          break;
        }
        const layout: Layout = [];
        node.inputs.forEach((v, i) => {
          const p = parts[i];
          if (p) layout.push(...p);
          else {
            const c = v?.shape?.[1];
            if (typeof c !== 'number') {
              for (const q of parts) freeze(q, `${label(node)} has an input of unknown channels`);
            } else layout.push({ fixed: c, expansion: 1 });
          }
        });
        layouts.set(out, layout);
        break;
      }
      case 'Split': {
        if (!x) break;
        const rank = node.inputs[0]!.shape?.length ?? 0;
        const axis = node.attr('axis', 'int', 0);
        if ((axis < 0 ? axis + rank : axis) !== 1) {
          freeze(x, `${label(node)} splits along axis ${axis}, not channels`);
          break;
        }
        const sizes =
          node.inputs[1]?.const?.toNumbers() ??
          node.attr('split', 'ints') ??
          node.outputs.map((o) => o.shape?.[1]).filter((d): d is number => typeof d === 'number');
        if (
          x.length !== 1 ||
          !('space' in x[0]) ||
          x[0].expansion !== 1 ||
          sizes.length !== node.outputs.length ||
          sizes.reduce((a, b) => a + b, 0) !== x[0].space.size
        ) {
          freeze(x, `${label(node)} splits channels it cannot follow`);
          break;
        }
        const parts = partition(x[0].space.root(), sizes, label(node));
        if (!parts) break;
        parts.forEach((p, i) => {
          p.cuts.push({ node, parts, index: i });
          layouts.set(node.outputs[i], [{ space: p, expansion: 1 }]);
        });
        break;
      }
      case 'Slice': {
        if (!x) break;
        const rank = node.inputs[0]!.shape?.length ?? 0;
        const [starts, ends, axes, steps] = [1, 2, 3, 4].map((i) => node.inputs[i]?.const?.toNumbers());
        const channelAxis = (axes ?? starts?.map((_, i) => i))?.findIndex((a) => (a < 0 ? a + rank : a) === 1) ?? -1;
        if (!starts || !ends || channelAxis < 0) {
          if (starts && ends && channelAxis < 0) {
            layouts.set(out, x);
            break;
          }
          freeze(x, `${label(node)} slices with computed bounds`);
          break;
        }
        if (
          (steps?.[channelAxis] ?? 1) !== 1 ||
          (axes ?? []).length > 1 ||
          starts.length > 1 ||
          x.length !== 1 ||
          !('space' in x[0]) ||
          x[0].expansion !== 1
        ) {
          freeze(x, `${label(node)} slices channels in a way it cannot follow`);
          break;
        }
        const size = x[0].space.size;
        const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
        const [b, e] = [clamp(starts[channelAxis]), clamp(ends[channelAxis])];
        const sizes = [b, e - b, size - e].filter((n) => n > 0);
        const parts = partition(x[0].space.root(), sizes, label(node));
        if (!parts) break;
        const kept = parts[b > 0 ? 1 : 0];
        kept.cuts.push({ node, parts, index: b > 0 ? 1 : 0 });
        layouts.set(out, [{ space: kept, expansion: 1 }]);
        break;
      }
      case 'Flatten':
      case 'Reshape': {
        if (!x) break;
        const inShape = node.inputs[0]!.shape,
          outShape = out.shape;
        const axis = node.opType === 'Flatten' ? node.attr('axis', 'int', 1) : 1;
        const flattens =
          inShape &&
          outShape?.length === 2 &&
          axis === 1 &&
          inShape.slice(2).every((d) => typeof d === 'number') &&
          (node.opType === 'Flatten' || typeof outShape[1] === 'number');
        if (!flattens) {
          freeze(x, `${label(node)} reshapes channels other than by flattening`);
          break;
        }
        const hw = (inShape.slice(2) as number[]).reduce((a, b) => a * b, 1);
        layouts.set(
          out,
          x.map((s) => ({ ...s, expansion: s.expansion * hw })),
        );
        break;
      }
      default: {
        if (PASS_THROUGH.has(node.opType) || (node.opType === 'Pad' && padsSpareChannels(node))) {
          if (x) layouts.set(out, x);
          for (const v of node.inputs.slice(1))
            if (v && layouts.has(v)) freeze(layouts.get(v), `${label(node)} reads it as a parameter`);
          break;
        }
        if (ELEMENTWISE.has(node.opType)) {
          elementwise(node, layouts, union, along, freeze, label);
          break;
        }
        for (const v of readersOf()) freeze(layouts.get(v), `${label(node)} reads it`);
      }
    }
  }
  for (const v of g.outputs) freeze(layouts.get(v), `graph output '${v.name}' must keep its shape`);
  const roots = [...new Set(spaces.map((s) => s.root()))];
  // Merge the lists of united spaces into their roots.
  for (const s of spaces) {
    const r = s.root();
    if (r === s) continue;
    r.sources.push(...s.sources);
    r.params.push(...s.params);
    r.consumers.push(...s.consumers);
    r.depthwise.push(...s.depthwise);
    r.batchNorms.push(...s.batchNorms);
    r.cuts.push(...s.cuts);
    if (s.groups !== 1) {
      if (r.groups !== 1 && r.groups !== s.groups) r.frozen ??= 'united channels are grouped differently';
      r.groups = s.groups;
    }
    if (s.frozen) r.frozen ??= s.frozen;
  }
  const live = roots.filter((s) => !s.parts);
  return {
    spaces: live,
    prunable: live.filter((s) => !s.frozen && s.sources.length > 0),
    frozen: live.filter((s) => s.frozen).map((space) => ({ space, reason: space.frozen! })),
  };
}

function padsSpareChannels(node: Node): boolean {
  const pads = node.inputs[1]?.const?.toNumbers() ?? node.attr('pads', 'ints');
  if (!pads || pads.length < 4) return false;
  const rank = pads.length / 2;
  return pads[0] === 0 && pads[rank] === 0 && pads[1] === 0 && pads[rank + 1] === 0;
}

function elementwise(
  node: Node,
  layouts: Map<Value, Layout>,
  union: (a: Space, b: Space, where: string) => void,
  along: (l: Layout, n: Node, i: number, axis: number, kind: 'params' | 'consumers') => void,
  freeze: (l: Layout | undefined, r: string) => void,
  label: (n: Node) => string,
): void {
  const outShape = node.outputs[0].shape;
  const ins = node.inputs.map((v) => (v ? layouts.get(v) : undefined));
  const withLayout = ins.filter((l): l is Layout => !!l);
  if (!withLayout.length) return;
  const first = withLayout[0];
  for (const l of withLayout.slice(1)) {
    if (
      l.length !== first.length ||
      l.some((s, i) => s.expansion !== first[i].expansion || 'space' in s !== 'space' in first[i])
    ) {
      freeze(l, `${label(node)} combines differently laid out channels`);
      freeze(first, `${label(node)} combines differently laid out channels`);
      return;
    }
    l.forEach((s, i) => {
      const f = first[i];
      if ('space' in s && 'space' in f) union(s.space, f.space, `${label(node)} combines channels of different sizes`);
    });
  }
  node.inputs.forEach((v, i) => {
    if (!v || ins[i]) return;
    const t = v.const;
    if (t && t.size === 1) return;
    const rank = outShape?.length ?? 0;
    // A per-channel constant [C,1,1] / [1,C,1,1] rides along; anything else computed or shaped otherwise cannot.
    if (
      t &&
      rank >= 2 &&
      t.dims.length >= rank - 1 &&
      t.dims.filter((d) => d !== 1).length === 1 &&
      t.dims[t.dims.length - (rank - 1)] === t.size
    ) {
      along(first, node, i, t.dims.length - (rank - 1), 'params');
      return;
    }
    for (const l of withLayout) freeze(l, `${label(node)} combines it with '${v.name}', which cannot lose channels`);
  });
  if (node.outputs[0]) layouts.set(node.outputs[0], first);
}
