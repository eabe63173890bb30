/**
 * Flower's records (`flwr.common.record` in 1.26.1) as plain TypeScript values, and the
 * protobuf bodies of the two record types that have one (ConfigRecord, MetricRecord).
 *
 * Integers and floats stay apart as they do in Python: a `number` is a double, a `bigint` an
 * int (`sint64`, or `uint64` past 2^63), so `"num-examples": 60n` reaches the server as the
 * Python int 60 and `"lr": 0.01` as a float.
 */
import { decodeProto, encodeProto, type ProtoMessage } from '@edgeml/core';
import { FlowerProtocolError } from './errors.js';
import * as proto from './proto.js';

/** One array of an ArrayRecord: `data` is the array serialized as `stype` says (`numpy.ndarray`: .npy bytes). */
export interface FlowerArray {
  dtype: string;
  shape: number[];
  stype: string;
  data: Uint8Array;
}

/** A MetricRecord value: float (`number`), int (`bigint`), or a list of either. */
export type MetricValue = number | bigint | number[] | bigint[];
/** A ConfigRecord value: a metric value, or bool, str, bytes, or a list of one of those. */
export type ConfigValue = MetricValue | boolean | string | Uint8Array | boolean[] | string[] | Uint8Array[];

/** One record of a RecordDict. */
export type FlowerRecord =
  | { kind: 'arrays'; arrays: Map<string, FlowerArray> }
  | { kind: 'metrics'; values: Map<string, MetricValue> }
  | { kind: 'config'; values: Map<string, ConfigValue> };

/** A message's content: named records, in order. */
export type RecordDict = Map<string, FlowerRecord>;

/** Flower's serialization type for NumPy arrays (its `SType.NUMPY`). */
export const NUMPY_STYPE = 'numpy.ndarray';

const INT64_MAX = 2n ** 63n - 1n;

function listValue(values: unknown[], metric: boolean, key: string): ProtoMessage {
  const first = values[0];
  const all = (test: (v: unknown) => boolean) => values.every(test);
  if (values.length === 0) return metric ? { doubleList: {} } : { boolList: {} };
  if (typeof first === 'number' && all((v) => typeof v === 'number')) return { doubleList: { vals: values } };
  if (typeof first === 'bigint' && all((v) => typeof v === 'bigint')) {
    const big = values.some((v) => (v as bigint) > INT64_MAX);
    return big ? { uintList: { vals: values } } : { sintList: { vals: values } };
  }
  if (!metric) {
    if (typeof first === 'boolean' && all((v) => typeof v === 'boolean')) return { boolList: { vals: values } };
    if (typeof first === 'string' && all((v) => typeof v === 'string')) return { stringList: { vals: values } };
    if (first instanceof Uint8Array && all((v) => v instanceof Uint8Array)) return { bytesList: { vals: values } };
  }
  throw new FlowerProtocolError(
    `record value '${key}': a list must hold one type of ${metric ? 'number or bigint' : 'number, bigint, boolean, string or Uint8Array'}`,
  );
}

/** A `*RecordValue` oneof for one value (Python's `_record_value_to_proto`). */
function valueProto(value: ConfigValue, metric: boolean, key: string): ProtoMessage {
  if (typeof value === 'number') return { double: value };
  if (typeof value === 'bigint') return value > INT64_MAX ? { uint64: value } : { sint64: value };
  if (Array.isArray(value)) return listValue(value, metric, key);
  if (!metric) {
    if (typeof value === 'boolean') return { bool: value };
    if (typeof value === 'string') return { string: value };
    if (value instanceof Uint8Array) return { bytes: value };
  }
  throw new FlowerProtocolError(
    `record value '${key}' of type ${typeof value} is not allowed in a ${metric ? 'MetricRecord' : 'ConfigRecord'}`,
  );
}

const LIST_FIELDS = ['doubleList', 'sintList', 'uintList', 'boolList', 'stringList', 'bytesList'];
const SCALAR_FIELDS = ['double', 'sint64', 'uint64', 'bool', 'string', 'bytes'];

function valueFrom(p: ProtoMessage, key: string): ConfigValue {
  for (const name of SCALAR_FIELDS) if (p[name] !== undefined) return p[name] as ConfigValue;
  for (const name of LIST_FIELDS) {
    const list = p[name] as { vals?: ArrayLike<unknown> } | undefined;
    if (list) return Array.from(list.vals ?? []) as ConfigValue;
  }
  throw new FlowerProtocolError(`record value '${key}' has none of the oneof's fields set`);
}

/** The protobuf body of a ConfigRecord or MetricRecord object (items in insertion order). */
export function encodeRecordBody(kind: 'metrics' | 'config', values: Map<string, ConfigValue>): Uint8Array {
  const items = [...values].map(([key, value]) => ({ key, value: valueProto(value, kind === 'metrics', key) }));
  return encodeProto({ items }, kind === 'metrics' ? proto.MetricRecord : proto.ConfigRecord);
}

/** Read a ConfigRecord or MetricRecord object's protobuf body. */
export function decodeRecordBody(kind: 'metrics' | 'config', body: Uint8Array, what: string): Map<string, ConfigValue> {
  const desc = kind === 'metrics' ? proto.MetricRecord : proto.ConfigRecord;
  const decoded = decodeProto(body, desc, what);
  const out = new Map<string, ConfigValue>();
  for (const item of (decoded.items ?? []) as ProtoMessage[]) {
    const key = (item.key as string | undefined) ?? '';
    out.set(key, valueFrom((item.value ?? {}) as ProtoMessage, key));
  }
  return out;
}
