import type { Tensor } from '../tensor/tensor.js';
import type { ValueType } from './types.js';
import type { Graph } from './graph.js';

/** A sparse tensor: `values` at `indices` (COO) in a tensor of `dims`. */
export interface SparseTensor {
  values: Tensor;
  indices: Tensor;
  dims: number[];
}

/** Attribute kinds and the JS value each holds. */
export interface AttributeValueMap {
  float: number;
  int: number;
  string: string;
  tensor: Tensor;
  graph: Graph;
  sparse_tensor: SparseTensor;
  type_proto: ValueType;
  floats: number[];
  ints: number[];
  strings: string[];
  tensors: Tensor[];
  graphs: Graph[];
  sparse_tensors: SparseTensor[];
  type_protos: ValueType[];
}

export type AttributeKind = keyof AttributeValueMap;

/**
 * A node attribute. Inside a function body an attribute may instead refer to an attribute
 * of the calling node (`refAttrName`), in which case `value` is undefined.
 *
 * int64 attribute values are JS numbers; values beyond ±2^53 (only INT64_MAX/MIN sentinels
 * in practice) are written back clamped to the int64 range, which restores the sentinels.
 */
export type Attribute = {
  [K in AttributeKind]: {
    name: string;
    kind: K;
    value: AttributeValueMap[K];
    docString?: string;
    refAttrName?: string;
    /** @internal */ explicitDefaults?: Set<string>;
  };
}[AttributeKind];

/** Build an attribute; the kind is checked against the value at compile time. */
export function attr<K extends AttributeKind>(name: string, kind: K, value: AttributeValueMap[K]): Attribute {
  return { name, kind, value } as Attribute;
}
