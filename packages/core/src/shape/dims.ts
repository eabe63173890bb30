/** Symbolic-dimension arithmetic for shape inference. */
import type { Dim } from '../ir/types.js';
import { ShapeError } from '../errors.js';

/** Broadcast two symbolic shapes (numpy rules); null where it cannot be known. */
export function broadcastShapes(a: readonly Dim[], b: readonly Dim[], where: string): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = i - (rank - a.length) >= 0 ? a[i - (rank - a.length)] : 1;
    const y = i - (rank - b.length) >= 0 ? b[i - (rank - b.length)] : 1;
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (x === y) out.push(x);
    else if (typeof x === 'number' && typeof y === 'number')
      throw new ShapeError(`${where}: cannot broadcast [${a}] with [${b}]`);
    else if (typeof x === 'number') out.push(x);
    else if (typeof y === 'number') out.push(y);
    else out.push(null);
  }
  return out;
}

export const mulDims = (ds: readonly Dim[]): Dim => {
  let p = 1;
  for (const d of ds) {
    if (typeof d !== 'number') return ds.length === 1 ? d : null;
    p *= d;
  }
  return p;
};

export const isStatic = (s: readonly Dim[] | undefined): s is number[] => !!s && s.every((d) => typeof d === 'number');

/** Output size of a sliding window along one axis (Conv/Pool). */
export function windowOut(
  input: Dim,
  kernel: number,
  stride: number,
  dilation: number,
  padBegin: number,
  padEnd: number,
  ceil: boolean,
): Dim {
  if (typeof input !== 'number') return null;
  const eff = (kernel - 1) * dilation + 1;
  const v = (input + padBegin + padEnd - eff) / stride;
  return (ceil ? Math.ceil(v) : Math.floor(v)) + 1;
}

/** Merge a declared shape with an inferred one: known sizes win, then names, else unknown. */
export function mergeShapes(
  declared: readonly Dim[] | undefined,
  inferred: readonly Dim[] | undefined,
): Dim[] | undefined {
  if (!declared) return inferred ? [...inferred] : undefined;
  if (!inferred || inferred.length !== declared.length) return [...declared];
  return declared.map((d, i) =>
    typeof d === 'number' ? d : typeof inferred[i] === 'number' ? inferred[i] : (d ?? inferred[i]),
  );
}
