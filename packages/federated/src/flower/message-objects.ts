/**
 * A Flower message to and from its object tree (see objects.ts): what a SuperNode pulls after
 * PullMessages and pushes after PushMessages. Both the client and the test server use it.
 */
import { decodeProto, encodeProto, type ProtoMessage } from '@edgeml/core';
import { FlowerProtocolError } from './errors.js';
import {
  MAX_ARRAY_CHUNK_BYTES,
  jsonBytes,
  objectBytes,
  objectId,
  parseJsonBody,
  parseObject,
  type FlowerObject,
  type ObjectTree,
  type ObjectType,
} from './objects.js';
import * as proto from './proto.js';
import { decodeRecordBody, encodeRecordBody, type FlowerArray, type FlowerRecord, type RecordDict } from './records.js';

/** `flwr.proto.Metadata`. Times are Unix seconds; `ttl` is seconds after `createdAt`. */
export interface FlowerMetadata {
  runId: bigint;
  messageId: string;
  srcNodeId: bigint;
  dstNodeId: bigint;
  replyToMessageId: string;
  groupId: string;
  ttl: number;
  messageType: string;
  createdAt: number;
}

/** A Flower message: content or an error (Flower's `Error(code, reason)`), never both. */
export interface FlowerMessage {
  metadata: FlowerMetadata;
  content?: RecordDict;
  error?: { code: number; reason: string };
}

/** A message as objects: its id (the root object's), its tree, and every object's bytes by id. */
export interface MessageObjects {
  messageId: string;
  tree: ObjectTree;
  objects: Map<string, Uint8Array>;
}

/** Metadata as protobuf, proto3 defaults left out (as Python's serializer leaves them). */
export function metadataProto(m: FlowerMetadata): ProtoMessage {
  const out: ProtoMessage = {};
  const set = (key: keyof FlowerMetadata, value: unknown, unset: unknown) => {
    if (value !== unset) out[key] = value;
  };
  set('runId', m.runId, 0n);
  set('messageId', m.messageId, '');
  set('srcNodeId', m.srcNodeId, 0n);
  set('dstNodeId', m.dstNodeId, 0n);
  set('replyToMessageId', m.replyToMessageId, '');
  set('groupId', m.groupId, '');
  set('ttl', m.ttl, 0);
  set('messageType', m.messageType, '');
  set('createdAt', m.createdAt, 0);
  return out;
}

/** Metadata from protobuf, absent fields at their proto3 defaults. */
export function metadataFrom(p: ProtoMessage | undefined): FlowerMetadata {
  const m = p ?? {};
  return {
    runId: (m.runId as bigint | undefined) ?? 0n,
    messageId: (m.messageId as string | undefined) ?? '',
    srcNodeId: (m.srcNodeId as bigint | undefined) ?? 0n,
    dstNodeId: (m.dstNodeId as bigint | undefined) ?? 0n,
    replyToMessageId: (m.replyToMessageId as string | undefined) ?? '',
    groupId: (m.groupId as string | undefined) ?? '',
    ttl: (m.ttl as number | undefined) ?? 0,
    messageType: (m.messageType as string | undefined) ?? '',
    createdAt: (m.createdAt as number | undefined) ?? 0,
  };
}

function errorProto(e: { code: number; reason: string }): ProtoMessage {
  const out: ProtoMessage = {};
  if (e.code) out.code = e.code;
  if (e.reason) out.reason = e.reason;
  return out;
}

class TreeBuilder {
  readonly objects = new Map<string, Uint8Array>();

  /** Store an object; returns its tree node (children as given, already stored). */
  async add(type: ObjectType, body: Uint8Array, children: ObjectTree[]): Promise<ObjectTree> {
    const bytes = objectBytes({ type, children: children.map((c) => c.objectId), body });
    const id = await objectId(bytes);
    this.objects.set(id, bytes);
    return { objectId: id, children };
  }

  /** Children deduplicated by id, first occurrence first (a Python dict keyed by object id). */
  static distinct(nodes: ObjectTree[]): ObjectTree[] {
    const seen = new Map<string, ObjectTree>();
    for (const n of nodes) if (!seen.has(n.objectId)) seen.set(n.objectId, n);
    return [...seen.values()];
  }

  async array(a: FlowerArray): Promise<ObjectTree> {
    const chunks: ObjectTree[] = [];
    for (let at = 0; at < a.data.byteLength; at += MAX_ARRAY_CHUNK_BYTES)
      chunks.push(await this.add('ArrayChunk', a.data.subarray(at, at + MAX_ARRAY_CHUNK_BYTES), []));
    const distinct = TreeBuilder.distinct(chunks);
    const ids = distinct.map((c) => c.objectId);
    const body = jsonBytes({
      dtype: a.dtype,
      shape: a.shape,
      stype: a.stype,
      arraychunk_ids: chunks.map((c) => ids.indexOf(c.objectId)),
    });
    return this.add('Array', body, distinct);
  }

  async refs(type: 'ArrayRecord' | 'RecordDict', named: [string, ObjectTree][]): Promise<ObjectTree> {
    const body = jsonBytes(Object.fromEntries(named.map(([name, node]) => [name, node.objectId])));
    return this.add(type, body, TreeBuilder.distinct(named.map(([, node]) => node)));
  }

  async record(r: FlowerRecord): Promise<ObjectTree> {
    if (r.kind !== 'arrays')
      return this.add(r.kind === 'metrics' ? 'MetricRecord' : 'ConfigRecord', encodeRecordBody(r.kind, r.values), []);
    const named: [string, ObjectTree][] = [];
    for (const [name, a] of r.arrays) named.push([name, await this.array(a)]);
    return this.refs('ArrayRecord', named);
  }
}

/** Deflate a message into its objects; the returned `messageId` is what `metadata.messageId` must be. */
export async function messageToObjects(message: FlowerMessage): Promise<MessageObjects> {
  if (!message.content === !message.error)
    throw new FlowerProtocolError('a Flower message carries content or an error, not both and not neither');
  const b = new TreeBuilder();
  const children: ObjectTree[] = [];
  if (message.content) {
    const named: [string, ObjectTree][] = [];
    for (const [name, r] of message.content) named.push([name, await b.record(r)]);
    children.push(await b.refs('RecordDict', named));
  }
  const body: ProtoMessage = { metadata: metadataProto({ ...message.metadata, messageId: '' }) };
  if (message.error) body.error = errorProto(message.error);
  const tree = await b.add('Message', encodeProto(body, proto.Message), children);
  return { messageId: tree.objectId, tree, objects: b.objects };
}

class Inflater {
  constructor(
    private readonly objects: ReadonlyMap<string, Uint8Array>,
    private readonly messageId: string,
  ) {}

  async object(id: string, expected: ObjectType[]): Promise<FlowerObject> {
    const bytes = this.objects.get(id);
    if (!bytes)
      throw new FlowerProtocolError(`message ${this.messageId} refers to object ${id}, which was not received`, {
        messageId: this.messageId,
        objectId: id,
      });
    const obj = await parseObject(id, bytes);
    if (!expected.includes(obj.type))
      throw new FlowerProtocolError(`object ${id} is a ${obj.type}, where a ${expected.join(' or ')} belongs`, {
        messageId: this.messageId,
        objectId: id,
      });
    return obj;
  }

  /** A JSON body of `{name: child id}` whose ids are all among the head's children. */
  refs(obj: FlowerObject, id: string): [string, string][] {
    const entries = Object.entries(parseJsonBody(obj, id));
    for (const [name, ref] of entries)
      if (typeof ref !== 'string' || !obj.children.includes(ref))
        throw new FlowerProtocolError(
          `${obj.type} ${id}: '${name}' refers to ${String(ref)}, not one of its children`,
          {
            objectId: id,
          },
        );
    return entries as [string, string][];
  }

  async array(id: string): Promise<FlowerArray> {
    const obj = await this.object(id, ['Array']);
    const meta = parseJsonBody(obj, id);
    const chunkIds = meta.arraychunk_ids;
    const shape = meta.shape;
    if (
      typeof meta.dtype !== 'string' ||
      typeof meta.stype !== 'string' ||
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isInteger(d) && d >= 0) ||
      !Array.isArray(chunkIds) ||
      !chunkIds.every((i) => Number.isInteger(i) && i >= 0 && i < obj.children.length)
    )
      throw new FlowerProtocolError(`Array ${id}: its body is not {dtype, shape, stype, arraychunk_ids}`, {
        objectId: id,
      });
    const parts: Uint8Array[] = [];
    for (const index of chunkIds as number[]) parts.push((await this.object(obj.children[index], ['ArrayChunk'])).body);
    const data = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.byteLength;
    }
    return { dtype: meta.dtype, shape: shape as number[], stype: meta.stype, data };
  }

  async record(id: string): Promise<FlowerRecord> {
    const obj = await this.object(id, ['ArrayRecord', 'ConfigRecord', 'MetricRecord']);
    if (obj.type === 'ArrayRecord') {
      const arrays = new Map<string, FlowerArray>();
      for (const [name, ref] of this.refs(obj, id)) arrays.set(name, await this.array(ref));
      return { kind: 'arrays', arrays };
    }
    const kind = obj.type === 'MetricRecord' ? 'metrics' : 'config';
    return { kind, values: decodeRecordBody(kind, obj.body, `${obj.type} ${id}`) } as FlowerRecord;
  }

  async message(): Promise<FlowerMessage> {
    const root = await this.object(this.messageId, ['Message']);
    const body = decodeProto(root.body, proto.Message, `Message ${this.messageId}`);
    const metadata = { ...metadataFrom(body.metadata as ProtoMessage | undefined), messageId: this.messageId };
    if (body.error) {
      const e = body.error as ProtoMessage;
      return { metadata, error: { code: Number(e.code ?? 0), reason: (e.reason as string | undefined) ?? '' } };
    }
    if (root.children.length !== 1)
      throw new FlowerProtocolError(`Message ${this.messageId} has neither an error nor exactly one RecordDict`, {
        messageId: this.messageId,
      });
    const dict = await this.object(root.children[0], ['RecordDict']);
    const content: RecordDict = new Map();
    for (const [name, ref] of this.refs(dict, root.children[0])) content.set(name, await this.record(ref));
    return { metadata, content };
  }
}

/**
 * Inflate a message from its objects (each checked against its id). `messageId` is the root
 * object's id, which is the message's `metadata.messageId`.
 */
export function messageFromObjects(
  messageId: string,
  objects: ReadonlyMap<string, Uint8Array>,
): Promise<FlowerMessage> {
  return new Inflater(objects, messageId).message();
}
