import type { Graph } from '../ir/graph.js';
import type { Value } from '../ir/value.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Pass } from './pass.js';

/** What {@link dedupeInitializers} did. */
export interface DedupeResult {
  /** Initializers dropped because an equal one stays (their readers now read it). */
  merged: number;
  /** Initializers dropped because nothing read them. */
  unused: number;
}

/** FNV-1a over the bytes, 32 bits at a time where aligned: cheap enough to run on every candidate. */
function hashBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  const words =
    bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2) : undefined;
  const tail = words ? words.length * 4 : 0;
  if (words) for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  for (let i = tail; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const keyOf = (t: Tensor) => `${t.dtype}:${t.dims.join('x')}`;

/** Merge each group of equal tensors (same dtype, dims and bytes) into its first member. */
function mergeGroup(graph: Graph, group: Value[]): number {
  let merged = 0;
  const byHash = new Map<number, Value[]>();
  for (const v of group) {
    const h = hashBytes(v.const!.bytes);
    const kept = byHash.get(h);
    const twin = kept?.find((k) => sameBytes(k.const!.bytes, v.const!.bytes));
    if (!twin) {
      if (kept) kept.push(v);
      else byHash.set(h, [v]);
      continue;
    }
    for (const { node, index } of v.uses()) node.setInput(index, twin);
    graph.removeInitializer(v.name);
    merged++;
  }
  return merged;
}

/**
 * Make equal initializers one: those of the same dtype, dims and bytes (compared after a hash,
 * and only within a dtype-and-dims group, so a large model's weights are rarely read) are
 * replaced by the first of them; initializers nothing reads are dropped. Graph inputs (a caller
 * may override them), graph outputs and string tensors are left alone. Recurses into subgraphs.
 *
 * @example
 * ```ts
 * const { merged, unused } = dedupeInitializers(model.graph);
 * ```
 */
export function dedupeInitializers(graph: Graph): DedupeResult {
  const result: DedupeResult = { merged: 0, unused: 0 };
  for (const n of graph)
    for (const sub of n.subgraphs()) {
      const r = dedupeInitializers(sub);
      result.merged += r.merged;
      result.unused += r.unused;
    }
  const outputs = new Set(graph.outputs);
  const groups = new Map<string, Value[]>();
  for (const v of [...graph.initializers.values()]) {
    if (v.isGraphInput || outputs.has(v) || !v.const || v.const.dtype === 'string') continue;
    if (v.uses().length === 0) {
      graph.removeInitializer(v.name);
      result.unused++;
      continue;
    }
    const key = keyOf(v.const);
    const group = groups.get(key);
    if (group) group.push(v);
    else groups.set(key, [v]);
  }
  for (const group of groups.values()) if (group.length > 1) result.merged += mergeGroup(graph, group);
  return result;
}

/** {@link dedupeInitializers} as a pass. */
export function initializerDeduplication(): Pass {
  return {
    name: 'initializer-deduplication',
    inPlace: true,
    run: (model) => {
      const { merged, unused } = dedupeInitializers(model.graph);
      return { model, modified: merged + unused > 0 };
    },
  };
}
