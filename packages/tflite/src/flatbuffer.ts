/**
 * A generic flatbuffer writer over the table declarations of schema.ts: a document is a tree
 * of tables, vectors, strings and byte blobs, written depth first with google/flatbuffers'
 * Builder (children before the table that points at them, as the format requires).
 */
import { Builder } from 'flatbuffers';
import type { TableDesc } from './schema.js';

/** A vector of scalars of one element type, or of tables. */
export interface FbVector {
  readonly vector: 'int' | 'long' | 'float' | 'bool';
  readonly items: ArrayLike<number | bigint | boolean>;
}

/** Bytes written as a `[ubyte]` vector aligned to `align` (16 for Buffer.data, as the schema's force_align). */
export interface FbBytes {
  readonly bytes: Uint8Array;
  readonly align: number;
}

export type FbField = number | bigint | boolean | string | FbTable | FbVector | FbBytes | readonly FbTable[];

/** One table: its declaration and field values by name (absent or undefined: not written). */
export interface FbTable {
  readonly table: TableDesc;
  readonly values: Readonly<Record<string, FbField | undefined>>;
}

export const fbTable = (table: TableDesc, values: FbTable['values']): FbTable => ({ table, values });
export const intVector = (items: ArrayLike<number>): FbVector => ({ vector: 'int', items });
export const longVector = (items: ArrayLike<number | bigint>): FbVector => ({ vector: 'long', items });
export const floatVector = (items: ArrayLike<number>): FbVector => ({ vector: 'float', items });

const isTable = (v: unknown): v is FbTable => typeof v === 'object' && v !== null && 'table' in v;
const isVector = (v: unknown): v is FbVector => typeof v === 'object' && v !== null && 'vector' in v;
const isBytes = (v: unknown): v is FbBytes => typeof v === 'object' && v !== null && 'bytes' in v;

function writeScalarVector(b: Builder, v: FbVector): number {
  const n = v.items.length;
  const size = v.vector === 'long' ? 8 : v.vector === 'bool' ? 1 : 4;
  b.startVector(size, n, size);
  for (let i = n - 1; i >= 0; i--) {
    const item = v.items[i];
    if (v.vector === 'int') b.addInt32(Number(item));
    else if (v.vector === 'long') b.addInt64(BigInt(item));
    else if (v.vector === 'float') b.addFloat32(Number(item));
    else b.addInt8(item ? 1 : 0);
  }
  return b.endVector();
}

function writeRef(b: Builder, value: FbField): number {
  if (typeof value === 'string') return b.createString(value);
  if (isVector(value)) return writeScalarVector(b, value);
  if (isBytes(value)) {
    // Aligning the end of the data (the vector's start, flatbuffers grow downwards) to `align`
    // first makes createByteVector's own 4-byte preparation add no padding in between.
    b.prep(value.align, value.bytes.length);
    return b.createByteVector(value.bytes);
  }
  if (isTable(value)) return writeTable(b, value);
  const offsets = (value as readonly FbTable[]).map((t) => writeTable(b, t));
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

function writeTable(b: Builder, t: FbTable): number {
  const refs = new Map<number, number>();
  for (const [name, value] of Object.entries(t.values)) {
    if (value === undefined) continue;
    const slot = slotOf(t.table, name);
    if (t.table.fields[slot].kind === 'ref') refs.set(slot, writeRef(b, value));
  }
  b.startObject(t.table.fields.length);
  for (const [name, value] of Object.entries(t.values)) {
    if (value === undefined) continue;
    const slot = slotOf(t.table, name);
    const { kind, fallback } = t.table.fields[slot];
    if (kind === 'ref') b.addFieldOffset(slot, refs.get(slot)!, 0);
    else if (kind === 'long' || kind === 'ulong') b.addFieldInt64(slot, BigInt(value as number), BigInt(fallback));
    else if (kind === 'float') b.addFieldFloat32(slot, value as number, fallback);
    else if (kind === 'int' || kind === 'uint') b.addFieldInt32(slot, value as number, fallback);
    else b.addFieldInt8(slot, Number(value), fallback);
  }
  return b.endObject();
}

function slotOf(table: TableDesc, name: string): number {
  const slot = table.slots.get(name);
  if (slot === undefined) throw new Error(`internal: table ${table.name} has no field '${name}'`);
  return slot;
}

/** The bytes of a flatbuffer whose root is `root`, finished with `identifier`. */
export function writeFlatbuffer(root: FbTable, identifier: string, initialSize = 1 << 16): Uint8Array {
  const b = new Builder(initialSize);
  b.finish(writeTable(b, root), identifier);
  return b.asUint8Array();
}
