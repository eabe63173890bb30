/**
 * Core's protobuf codec opened to schemas other than onnx.proto: declare a message as a table
 * of field numbers and types (as schema.ts declares onnx.proto), then encode and decode it with
 * the same bounded, zero-copy reader and exact-size writer the ONNX codec uses. Runtime-neutral
 * (no Node APIs); @edgeml/federated declares Flower's Fleet protocol with it.
 *
 * Semantics are protobuf's, with two simplifications a declaring package keeps to: every
 * singular field that is set (not `undefined`) is written, so proto3 defaults are omitted by
 * leaving them unset; and repeated scalars are written packed only where `packed` says so
 * (both forms are read). Undeclared fields survive a decode/encode round trip as raw bytes.
 *
 * @example
 * ```ts
 * import { decodeProto, defineProtoMessage, encodeProto, protoField } from '@edgeml/core';
 *
 * const Node = defineProtoMessage('flwr.proto.Node', [protoField(1, 'nodeId', 'uint64', { bigint: true })]);
 * const bytes = encodeProto({ nodeId: 7n }, Node); // 0x08 0x07: field 1, varint; 7
 * console.log(decodeProto(bytes, Node).nodeId); // 7n
 * ```
 * @module
 */
import { InvalidArgumentError, ModelFormatError } from '../errors.js';
import { decodeMessage, encodeMessage } from './proto-codec.js';
import type { FieldDesc, FieldKind, MessageDesc, ProtoMessage } from './schema.js';

export type { FieldDesc as ProtoFieldDesc, FieldKind as ProtoFieldKind, MessageDesc as ProtoMessageDesc };

/** How a declared field is stored. */
export interface ProtoFieldOptions {
  /** `repeated` in the .proto. */
  repeated?: boolean;
  /** Write a repeated scalar packed (proto3's default for numeric types). */
  packed?: boolean;
  /** Decode a singular 64-bit integer as an exact bigint (ids, counters) rather than a number. */
  bigint?: boolean;
  /** The message type of a `message` field; a function, so messages can refer to each other or themselves. */
  message?: () => MessageDesc;
}

/** One field of a message: its number, the property name it decodes to, and its type. */
export function protoField(no: number, name: string, kind: FieldKind, options: ProtoFieldOptions = {}): FieldDesc {
  if (kind === 'message' && !options.message)
    throw new InvalidArgumentError(`protoField ${name}: a message field needs options.message`, name);
  return {
    no,
    name,
    kind,
    repeated: !!options.repeated,
    packed: !!options.packed,
    typed: !!options.bigint,
    message: options.message,
  };
}

/** A message declared from its fields (numbers must be unique). */
export function defineProtoMessage(name: string, fields: FieldDesc[]): MessageDesc {
  const byNo: (FieldDesc | undefined)[] = [];
  for (const field of fields) {
    if (byNo[field.no])
      throw new InvalidArgumentError(`${name}: field number ${field.no} is declared twice`, field.name);
    byNo[field.no] = field;
  }
  return { name, fields, byNo };
}

/** The wire bytes of `message` as `desc` declares it. */
export function encodeProto(message: ProtoMessage, desc: MessageDesc): Uint8Array {
  return encodeMessage(message, desc);
}

/**
 * Decode wire bytes as `desc`. Malformed bytes throw a `ModelFormatError` whose `fieldPath` and
 * `byteOffset` say where; `what` names the bytes in the message (e.g. the RPC they came from).
 */
export function decodeProto(bytes: Uint8Array, desc: MessageDesc, what?: string): ProtoMessage {
  try {
    return decodeMessage(bytes, desc);
  } catch (e) {
    if (what && e instanceof ModelFormatError)
      throw new ModelFormatError(`${what}: ${e.message}`, {
        byteOffset: e.byteOffset,
        fieldPath: e.fieldPath,
        file: what,
        cause: e,
      });
    throw e;
  }
}
