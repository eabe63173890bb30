import type { DType } from '../tensor/dtype.js';

/** A dimension: a fixed size, a symbolic name (`'batch'`), or null when unknown. */
export type Dim = number | string | null;

/** Tensor type. `shape` undefined means the rank is unknown. */
export interface TensorType {
  kind: 'tensor';
  /** undefined when the model leaves the element type unset. */
  dtype: DType | undefined;
  shape?: Dim[];
  /** Per-dimension denotations (ONNX `Dimension.denotation`), same length as shape when present. */
  dimDenotations?: (string | undefined)[];
  denotation?: string;
}

export interface SparseTensorType {
  kind: 'sparse_tensor';
  dtype: DType | undefined;
  shape?: Dim[];
  dimDenotations?: (string | undefined)[];
  denotation?: string;
}
export interface SequenceType {
  kind: 'sequence';
  elem: ValueType | undefined;
  denotation?: string;
}
export interface MapType {
  kind: 'map';
  keyType: DType | undefined;
  value: ValueType | undefined;
  denotation?: string;
}
export interface OptionalType {
  kind: 'optional';
  elem: ValueType | undefined;
  denotation?: string;
}
export interface OpaqueType {
  kind: 'opaque';
  domain: string;
  name: string;
  denotation?: string;
}

/** Every ONNX value type. */
export type ValueType = TensorType | SparseTensorType | SequenceType | MapType | OptionalType | OpaqueType;

/** Shorthand for a tensor type. */
export function tensorType(dtype: DType | undefined, shape?: readonly Dim[]): TensorType {
  return { kind: 'tensor', dtype, shape: shape ? [...shape] : undefined };
}

/** Human-readable form: `float32[batch,3,224,224]`. */
export function formatType(t: ValueType | undefined): string {
  if (!t) return '?';
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor': {
      const shape = t.shape ? `[${t.shape.map((d) => (d === null ? '?' : String(d))).join(',')}]` : '[...]';
      return `${t.kind === 'sparse_tensor' ? 'sparse ' : ''}${t.dtype ?? '?'}${shape}`;
    }
    case 'sequence':
      return `seq(${formatType(t.elem)})`;
    case 'map':
      return `map(${t.keyType ?? '?'}, ${formatType(t.value)})`;
    case 'optional':
      return `optional(${formatType(t.elem)})`;
    case 'opaque':
      return `opaque(${t.domain}.${t.name})`;
  }
}
