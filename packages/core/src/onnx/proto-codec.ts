/**
 * Generic protobuf codec driven by the field tables in schema.ts.
 *
 * Decoding is zero-copy for `bytes` fields (subarrays of the input) and bounded: every
 * length is checked against its enclosing message, packed arrays are sized from the bytes
 * they occupy, and nesting is limited, so hostile input costs at most a small multiple of
 * its own size. Encoding sizes every message first (cached per object), allocates once
 * and copies each tensor's bytes once.
 */
import { WireReader, WireType, WireWriter, utf8Length, varintSize, varintSizeBig } from './wire.js';
import { InvalidArgumentError } from '../errors.js';
import type { FieldDesc, MessageDesc, ProtoMessage } from './schema.js';

/** Protobuf's limit on one message. */
export const MAX_MESSAGE_BYTES = 2 ** 31 - 1;

/** Nested messages deeper than this are refused (real models nest a few dozen deep at most). */
export const MAX_NESTING = 256;

export function decodeMessage(bytes: Uint8Array, desc: MessageDesc): ProtoMessage {
  const r = new WireReader(bytes);
  return readMessage(r, desc, bytes.length, 0);
}

function readMessage(r: WireReader, desc: MessageDesc, end: number, depth: number): ProtoMessage {
  if (depth > MAX_NESTING) r.fail(`messages nested deeper than ${MAX_NESTING}`);
  const obj: ProtoMessage = {};
  while (r.pos < end) {
    const tagAt = r.pos;
    const tag = r.varint();
    const no = Math.floor(tag / 8);
    const wire = (tag & 7) as WireType;
    if (no === 0) r.fail(`invalid field number 0 in ${desc.name}`, tagAt);
    const field = desc.byNo[no];
    if (!field) {
      r.skip(wire, end);
      (obj.$unknown ??= []).push(r.buf.subarray(tagAt, r.pos));
      continue;
    }
    if (field.kind === 'message') {
      if (wire !== WireType.Len) wrongWire(r, desc, field, wire, tagAt);
      const len = r.length(end);
      r.path.push(`${desc.name}.${field.name}`);
      const sub = readMessage(r, field.message!(), r.pos + len, depth + 1);
      r.path.pop();
      if (field.repeated) ((obj[field.name] ??= []) as ProtoMessage[]).push(sub);
      else obj[field.name] = sub;
      continue;
    }
    if (field.repeated && wire === WireType.Len && field.kind !== 'string' && field.kind !== 'bytes') {
      const len = r.length(end);
      readPacked(r, obj, field, r.pos + len, desc, tagAt);
      continue;
    }
    const value = readScalar(r, field, wire, end, desc, tagAt);
    if (field.repeated) {
      const existing = obj[field.name];
      if (field.typed) obj[field.name] = appendTyped(existing, field, [value as number | bigint]);
      else ((obj[field.name] ??= []) as unknown[]).push(value);
    } else obj[field.name] = value;
  }
  if (r.pos !== end) r.fail(`${desc.name} overruns its length`);
  return obj;
}

function wrongWire(r: WireReader, desc: MessageDesc, field: FieldDesc, wire: WireType, at: number): never {
  r.fail(
    `field ${desc.name}.${field.name} (#${field.no}) has wire type ${wire}, which does not fit its type ${field.kind}`,
    at,
  );
}

function expectedWire(kind: FieldDesc['kind']): WireType {
  switch (kind) {
    case 'float':
      return WireType.I32;
    case 'double':
      return WireType.I64;
    case 'string':
    case 'bytes':
    case 'message':
      return WireType.Len;
    default:
      return WireType.Varint;
  }
}

function readScalar(
  r: WireReader,
  field: FieldDesc,
  wire: WireType,
  end: number,
  desc: MessageDesc,
  at: number,
): unknown {
  if (wire !== expectedWire(field.kind)) wrongWire(r, desc, field, wire, at);
  switch (field.kind) {
    case 'float':
      return r.float(end);
    case 'double':
      return r.double(end);
    case 'string':
      return r.string(end);
    case 'bytes':
      return r.bytes(end);
    case 'int64':
      return field.typed ? r.varintBig() : r.varint();
    case 'uint64':
      return field.typed ? BigInt.asUintN(64, r.varintBig()) : r.varint();
    case 'int32':
      return r.varint() | 0;
    case 'bool':
      return r.varint() !== 0;
    case 'sint64': {
      const z = unzigzag(BigInt.asUintN(64, r.varintBig()));
      return field.typed ? z : Number(z);
    }
    default:
      return r.varint();
  }
}

function unzigzag(u: bigint): bigint {
  return (u >> 1n) ^ -(u & 1n);
}

/** The varint a bool or sint64 value is written as; other integer kinds as they are. */
function wireInt(field: FieldDesc, v: unknown): number | bigint {
  if (field.kind === 'bool') return v ? 1 : 0;
  // The writer takes 64-bit varints as int64 bigints: unsigned values past 2^63 wrap to their bit pattern.
  if (field.kind === 'sint64') {
    const b = BigInt(v as number | bigint);
    return BigInt.asIntN(64, (b << 1n) ^ (b >> 63n));
  }
  if (field.kind === 'uint64' && typeof v === 'bigint') return BigInt.asIntN(64, v);
  return v as number | bigint;
}

function readPacked(
  r: WireReader,
  obj: ProtoMessage,
  field: FieldDesc,
  end: number,
  desc: MessageDesc,
  at: number,
): void {
  let values: ArrayLike<number | bigint>;
  const n = end - r.pos;
  if (field.kind === 'float' || field.kind === 'double') {
    const width = field.kind === 'float' ? 4 : 8;
    if (n % width) r.fail(`packed ${desc.name}.${field.name} has ${n} bytes, not a multiple of ${width}`, at);
    // Copy into an aligned array: packed payloads sit at arbitrary offsets.
    const copy = new Uint8Array(n);
    copy.set(r.buf.subarray(r.pos, end));
    values = width === 4 ? new Float32Array(copy.buffer) : new Float64Array(copy.buffer);
    r.pos = end;
  } else {
    let count = 0;
    for (let i = r.pos; i < end; i++) if (!(r.buf[i] & 0x80)) count++;
    if (field.typed && (field.kind === 'int64' || field.kind === 'uint64')) {
      const out = field.kind === 'int64' ? new BigInt64Array(count) : new BigUint64Array(count);
      for (let i = 0; i < count; i++)
        out[i] = field.kind === 'int64' ? r.varintBig() : BigInt.asUintN(64, r.varintBig());
      values = out;
    } else if (field.kind === 'bool' || field.kind === 'sint64') {
      const out = new Array<number | boolean>(count);
      for (let i = 0; i < count; i++) out[i] = readScalar(r, field, WireType.Varint, end, desc, at) as number | boolean;
      values = out as ArrayLike<number>;
    } else {
      const out = field.typed ? new Int32Array(count) : new Array<number>(count);
      for (let i = 0; i < count; i++) out[i] = field.kind === 'int32' ? r.varint() | 0 : r.varint();
      values = out;
    }
    if (r.pos !== end) r.fail(`packed ${desc.name}.${field.name} ends inside a varint`, at);
  }
  if (field.typed) obj[field.name] = appendTyped(obj[field.name], field, values);
  else {
    const arr = (obj[field.name] ??= []) as unknown[];
    for (let i = 0; i < values.length; i++) arr.push(values[i]);
  }
}

function typedCtor(field: FieldDesc) {
  switch (field.kind) {
    case 'float':
      return Float32Array;
    case 'double':
      return Float64Array;
    case 'int64':
    case 'sint64':
      return BigInt64Array;
    case 'uint64':
      return BigUint64Array;
    default:
      return Int32Array;
  }
}

function appendTyped(existing: unknown, field: FieldDesc, values: ArrayLike<number | bigint>): unknown {
  const Ctor = typedCtor(field) as unknown as {
    new (n: number): { set(a: ArrayLike<unknown>, o?: number): void; length: number };
  };
  const prev = existing as { length: number } | undefined;
  if (!prev && (values as object).constructor === Ctor) return values;
  const out = new Ctor((prev?.length ?? 0) + values.length);
  if (prev) out.set(prev);
  out.set(values, prev?.length ?? 0);
  return out;
}

// ---------------------------------------------------------------- encoding

type Sizes = WeakMap<object, number>;

/** Encode a message into one buffer of exactly its size. */
export function encodeMessage(obj: ProtoMessage, desc: MessageDesc): Uint8Array {
  return encodeWith(obj, desc, Infinity).buf;
}

/**
 * Encode a message as a list of chunks whose concatenation is the encoding; byte fields of
 * at least `spliceThreshold` bytes are the caller's own views, not copies. Writing the
 * chunks with one gathered write (writev) puts tensor bytes on disk with no copy in JS.
 */
export function encodeMessageChunks(obj: ProtoMessage, desc: MessageDesc, spliceThreshold = 1 << 16): Uint8Array[] {
  return encodeWith(obj, desc, spliceThreshold).chunks();
}

function encodeWith(obj: ProtoMessage, desc: MessageDesc, spliceThreshold: number): WireWriter {
  const sizes: Sizes = new WeakMap();
  const total = sizeOf(obj, desc, sizes);
  if (total > MAX_MESSAGE_BYTES) {
    throw new InvalidArgumentError(
      `the encoded ${desc.name} would be ${total} bytes; protobuf messages are limited to 2 GiB. Save with external data (saveModel(path, model, { externalData: {} }))`,
      'externalData',
    );
  }
  const w = new WireWriter(total, spliceThreshold);
  writeMessage(w, obj, desc, sizes);
  if (w.pos !== total) throw new Error(`internal: encoded ${w.pos} bytes, sized ${total}`);
  return w;
}

/** Size of a message body (without its own tag and length). */
export function sizeOf(obj: ProtoMessage, desc: MessageDesc, sizes: Sizes): number {
  const cached = sizes.get(obj);
  if (cached !== undefined) return cached;
  let n = 0;
  for (const field of desc.fields) {
    const v = obj[field.name];
    if (v === undefined || v === null) continue;
    const tagSize = varintSize(field.no * 8);
    if (!field.repeated) {
      n += tagSize + scalarOrMessageSize(field, v, sizes);
      continue;
    }
    const arr = v as ArrayLike<unknown>;
    if (arr.length === 0) continue;
    if (field.packed) {
      const body = packedBodySize(field, arr);
      n += tagSize + varintSize(body) + body;
    } else {
      for (let i = 0; i < arr.length; i++) n += tagSize + scalarOrMessageSize(field, arr[i], sizes);
    }
  }
  if (obj.$unknown) for (const u of obj.$unknown) n += u.byteLength;
  sizes.set(obj, n);
  return n;
}

function scalarOrMessageSize(field: FieldDesc, v: unknown, sizes: Sizes): number {
  switch (field.kind) {
    case 'message': {
      const body = sizeOf(v as ProtoMessage, field.message!(), sizes);
      return varintSize(body) + body;
    }
    case 'string': {
      const len = utf8Length(v as string);
      return varintSize(len) + len;
    }
    case 'bytes': {
      const len = (v as Uint8Array).byteLength;
      return varintSize(len) + len;
    }
    case 'float':
      return 4;
    case 'double':
      return 8;
    default:
      return intSize(wireInt(field, v));
  }
}

function intSize(v: number | bigint): number {
  return typeof v === 'bigint' ? varintSizeBig(v) : varintSize(v);
}

function packedBodySize(field: FieldDesc, arr: ArrayLike<unknown>): number {
  if (field.kind === 'float') return arr.length * 4;
  if (field.kind === 'double') return arr.length * 8;
  let n = 0;
  for (let i = 0; i < arr.length; i++) n += intSize(wireInt(field, arr[i]));
  return n;
}

function writeMessage(w: WireWriter, obj: ProtoMessage, desc: MessageDesc, sizes: Sizes): void {
  for (const field of desc.fields) {
    const v = obj[field.name];
    if (v === undefined || v === null) continue;
    if (!field.repeated) {
      writeField(w, field, v, sizes);
      continue;
    }
    const arr = v as ArrayLike<unknown>;
    if (arr.length === 0) continue;
    if (field.packed) {
      w.tag(field.no, WireType.Len);
      w.varint(packedBodySize(field, arr));
      if (field.kind === 'float' || field.kind === 'double') {
        const typed = arr as Float32Array | Float64Array;
        if (typed instanceof (field.kind === 'float' ? Float32Array : Float64Array))
          w.raw(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
        else
          for (let i = 0; i < arr.length; i++) {
            if (field.kind === 'float') w.float(arr[i] as number);
            else w.double(arr[i] as number);
          }
      } else for (let i = 0; i < arr.length; i++) writeInt(w, wireInt(field, arr[i]));
    } else for (let i = 0; i < arr.length; i++) writeField(w, field, arr[i], sizes);
  }
  if (obj.$unknown) for (const u of obj.$unknown) w.raw(u);
}

function writeInt(w: WireWriter, v: number | bigint): void {
  if (typeof v === 'bigint') w.varintBig(v);
  else w.varint(v);
}

function writeField(w: WireWriter, field: FieldDesc, v: unknown, sizes: Sizes): void {
  switch (field.kind) {
    case 'message': {
      w.tag(field.no, WireType.Len);
      const sub = v as ProtoMessage;
      const desc = field.message!();
      w.varint(sizeOf(sub, desc, sizes));
      writeMessage(w, sub, desc, sizes);
      return;
    }
    case 'string':
      w.tag(field.no, WireType.Len);
      w.string(v as string, utf8Length(v as string));
      return;
    case 'bytes':
      w.tag(field.no, WireType.Len);
      w.bytes(v as Uint8Array);
      return;
    case 'float':
      w.tag(field.no, WireType.I32);
      w.float(v as number);
      return;
    case 'double':
      w.tag(field.no, WireType.I64);
      w.double(v as number);
      return;
    default:
      w.tag(field.no, WireType.Varint);
      writeInt(w, wireInt(field, v));
  }
}
