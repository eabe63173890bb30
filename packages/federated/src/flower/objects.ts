/**
 * Flower's content-addressed objects (Flower ≥ 1.20, as in 1.26.1's `flwr.common.inflatable`):
 * a message travels as a tree of objects, each stored under the SHA-256 hex digest of its
 * bytes. An object's bytes are a UTF-8 head `"<Type> <child-id>,<child-id>,… <body length>"`,
 * a NUL byte, and the body:
 *
 * | type | body | children |
 * |---|---|---|
 * | `Message` | protobuf `Message` (metadata with an empty `message_id`, error) | its `RecordDict` |
 * | `RecordDict` | JSON `{record name: object id}` | its records |
 * | `ArrayRecord` | JSON `{array name: object id}` | its arrays |
 * | `Array` | JSON `{"dtype", "shape", "stype", "arraychunk_ids"}` | its distinct chunks |
 * | `ArrayChunk` | ≤ 5 MiB of the array's `data` | — |
 * | `ConfigRecord`, `MetricRecord` | protobuf record | — |
 *
 * JSON is written as Python's `json.dumps` writes it (`", "` and `": "` separators, non-ASCII
 * escaped), so an object built here has the id Flower computes for the same content.
 */
import { FlowerProtocolError } from './errors.js';

/** Flower's `FLWR_PRIVATE_MAX_ARRAY_CHUNK_SIZE` default: an Array's data is cut into chunks of this many bytes. */
export const MAX_ARRAY_CHUNK_BYTES = 5 * 1024 * 1024;

/** The object types Flower 1.26 accepts (its `inflatable_class_registry`). */
export const OBJECT_TYPES = [
  'ArrayChunk',
  'Array',
  'ArrayRecord',
  'ConfigRecord',
  'Message',
  'MetricRecord',
  'RecordDict',
] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

/** A node of a message's object tree, as `flwr.proto.ObjectTree` carries it. */
export interface ObjectTree {
  objectId: string;
  children: ObjectTree[];
}

/** One object: its type, its children's ids (in head order), its body. */
export interface FlowerObject {
  type: ObjectType;
  children: string[];
  body: Uint8Array;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The object's bytes: head, NUL, body. */
export function objectBytes(obj: FlowerObject): Uint8Array {
  const head = utf8.encode(`${obj.type} ${obj.children.join(',')} ${obj.body.byteLength}`);
  const out = new Uint8Array(head.byteLength + 1 + obj.body.byteLength);
  out.set(head);
  out.set(obj.body, head.byteLength + 1);
  return out;
}

function subtle() {
  const s = globalThis.crypto?.subtle;
  if (!s)
    throw new FlowerProtocolError(
      'Flower objects are addressed by SHA-256 and this runtime has no Web Crypto (globalThis.crypto.subtle): use Node ≥ 20 or a page served over https',
    );
  return s;
}

/** An object's id: the lowercase hex SHA-256 of its bytes. */
export async function objectId(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await subtle().digest('SHA-256', bytes));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Parse and check an object's bytes: the id is their SHA-256, the head is well-formed, the type
 * is one Flower defines, the body length matches. Anything else is a {@link FlowerProtocolError}.
 */
export async function parseObject(id: string, bytes: Uint8Array): Promise<FlowerObject> {
  const fail = (why: string): never => {
    throw new FlowerProtocolError(`Flower object ${id}: ${why}`, { objectId: id });
  };
  const actual = await objectId(bytes);
  if (actual !== id) fail(`its bytes hash to ${actual}; the object is corrupt or not the one asked for`);
  const nul = bytes.indexOf(0);
  if (nul < 0) fail('no NUL byte between head and body');
  let head = '';
  try {
    head = fromUtf8.decode(bytes.subarray(0, nul));
  } catch {
    fail('its head is not UTF-8');
  }
  const parts = head.split(' ');
  if (parts.length !== 3) fail(`its head '${head.slice(0, 80)}' is not '<type> <children> <length>'`);
  const [type, childList, length] = parts;
  if (!(OBJECT_TYPES as readonly string[]).includes(type))
    fail(`type '${type.slice(0, 40)}' is none of ${OBJECT_TYPES.join(', ')}`);
  const children = childList ? childList.split(',') : [];
  for (const child of children)
    if (!SHA256_HEX.test(child)) fail(`child id '${child.slice(0, 70)}' is not a SHA-256 hex digest`);
  const body = bytes.subarray(nul + 1);
  if (!/^\d+$/.test(length) || Number(length) !== body.byteLength)
    fail(`its head says the body is ${length} bytes, it is ${body.byteLength}`);
  return { type: type as ObjectType, children, body };
}

/** A string as Python's `json.dumps` writes it (ASCII only). */
function pyString(s: string): string {
  return JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

type PyJson = string | number | readonly PyJson[] | { readonly [key: string]: PyJson };

/** JSON byte for byte as Python's `json.dumps(value)` (default options) writes it, for the values Flower puts in object bodies. */
export function pyJson(value: PyJson): string {
  if (typeof value === 'string') return pyString(value);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new FlowerProtocolError(`pyJson writes integers only, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`;
  const entries = Object.entries(value as Record<string, PyJson>);
  return `{${entries.map(([k, v]) => `${pyString(k)}: ${pyJson(v)}`).join(', ')}}`;
}

/** Parse a JSON object body, or fail naming the object. */
export function parseJsonBody(obj: FlowerObject, id: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8.decode(obj.body));
  } catch (e) {
    throw new FlowerProtocolError(`Flower ${obj.type} ${id}: its body is not JSON`, { objectId: id, cause: e });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new FlowerProtocolError(`Flower ${obj.type} ${id}: its body is not a JSON object`, { objectId: id });
  return parsed as Record<string, unknown>;
}

export const jsonBytes = (value: PyJson) => utf8.encode(pyJson(value));

/** Every node of a tree, children before parents (Flower's `iterate_object_tree` order). */
export function* postOrder(tree: ObjectTree): Generator<ObjectTree> {
  for (const child of tree.children) yield* postOrder(child);
  yield tree;
}

/** A tree as decoded from `flwr.proto.ObjectTree` (absent fields at their defaults). */
export function treeFrom(p: Record<string, unknown>): ObjectTree {
  return {
    objectId: typeof p.objectId === 'string' ? p.objectId : '',
    children: Array.isArray(p.children) ? (p.children as Record<string, unknown>[]).map(treeFrom) : [],
  };
}
