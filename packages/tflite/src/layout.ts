/**
 * Layouts as permutations. A TFLite tensor holding an ONNX value stores it with its axes in
 * some order: `perm[i]` is the ONNX (logical) axis that physical axis `i` holds. The identity
 * is the ONNX layout; `channelsLast(4)` = [0, 2, 3, 1] is NHWC for an NCHW value.
 */

export type Perm = readonly number[];

export const identityPerm = (rank: number): number[] => Array.from({ length: rank }, (_, i) => i);

/** N, spatial axes, then C: [0, 2, 3, 1] for rank 4, [0, 2, 1] for rank 3. */
export const channelsLast = (rank: number): number[] =>
  rank < 3 ? identityPerm(rank) : [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];

export function invertPerm(perm: Perm): number[] {
  const inv: number[] = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

export const samePerm = (a: Perm, b: Perm): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export const isIdentity = (perm: Perm): boolean => perm.every((x, i) => x === i);

/** `dims` (logical) in the physical order `perm`. */
export const permuteDims = <T>(dims: readonly T[], perm: Perm): T[] => perm.map((i) => dims[i]);

/** The physical axis of logical axis `axis` under `perm`. */
export const physicalAxis = (perm: Perm, axis: number): number => perm.indexOf(axis);

/**
 * The TRANSPOSE permutation (on physical axes) taking a tensor stored in `from` to `to`:
 * new physical axis i is old physical axis `from⁻¹[to[i]]`.
 */
export function transposeBetween(from: Perm, to: Perm): number[] {
  const inv = invertPerm(from);
  return to.map((axis) => inv[axis]);
}

/**
 * True when transposing a tensor of physical shape `shape` by `transpose` keeps its elements
 * in memory order (only axes of size 1 move), so a RESHAPE does the work.
 */
export function isReshapeOnly(shape: readonly number[], transpose: Perm): boolean {
  let last = -1;
  for (const axis of transpose) {
    if (shape[axis] === 1) continue;
    if (axis < last) return false;
    last = axis;
  }
  return true;
}

/** The layout left after removing logical axes `removed` (sorted or not) from a tensor stored in `perm`. */
export function dropAxes(perm: Perm, removed: readonly number[]): number[] {
  const gone = new Set(removed);
  const kept = perm.filter((axis) => !gone.has(axis));
  const renumber = [...kept].sort((a, b) => a - b);
  return kept.map((axis) => renumber.indexOf(axis));
}
