/**
 * The messages of Flower's Fleet service as of **Flower 1.26.1** (adap/flower tag v1.26.1,
 * `framework/proto/flwr/proto/{fleet,message,recorddict,node,heartbeat,error}.proto`), declared
 * from the .proto field numbers and types for core's protobuf codec. Property names are the
 * proto names in camelCase; 64-bit ids decode as bigint. Only the messages a SuperNode exchanges
 * with a SuperLink are declared (no FAB, run or control-plane messages).
 *
 * Since Flower 1.20 a message's content does not travel inside `Message.content`: it is split
 * into content-addressed objects (see objects.ts) moved by PushObject/PullObject, and
 * `Message.content` is sent as an empty RecordDict that only marks "has content".
 */
import { defineProtoMessage as message, protoField as field, type ProtoMessageDesc } from '@edgeml/core';

type Desc = ProtoMessageDesc;
const R = { repeated: true };
const id = (no: number, name: string) => field(no, name, 'uint64', { bigint: true });
const sub = (no: number, name: string, type: () => Desc, repeated = false) =>
  field(no, name, 'message', { message: type, repeated });

// node.proto
export const Node: Desc = message('flwr.proto.Node', [id(1, 'nodeId')]);

// error.proto
export const ErrorProto: Desc = message('flwr.proto.Error', [field(1, 'code', 'sint64'), field(2, 'reason', 'string')]);

// recorddict.proto: the lists and records whose bodies are protobuf (ConfigRecord, MetricRecord).
const list = (name: string, kind: 'double' | 'sint64' | 'uint64' | 'bool' | 'string' | 'bytes') =>
  message(`flwr.proto.${name}`, [
    field(1, 'vals', kind, {
      repeated: true,
      packed: kind !== 'string' && kind !== 'bytes',
      bigint: kind === 'sint64' || kind === 'uint64',
    }),
  ]);
export const DoubleList = list('DoubleList', 'double');
export const SintList = list('SintList', 'sint64');
export const UintList = list('UintList', 'uint64');
export const BoolList = list('BoolList', 'bool');
export const StringList = list('StringList', 'string');
export const BytesList = list('BytesList', 'bytes');

const big = (no: number, name: string, kind: 'sint64' | 'uint64') => field(no, name, kind, { bigint: true });
/** `oneof value`: exactly one of these is set. */
export const MetricRecordValue: Desc = message('flwr.proto.MetricRecordValue', [
  field(1, 'double', 'double'),
  big(2, 'sint64', 'sint64'),
  big(3, 'uint64', 'uint64'),
  sub(21, 'doubleList', () => DoubleList),
  sub(22, 'sintList', () => SintList),
  sub(23, 'uintList', () => UintList),
]);
export const ConfigRecordValue: Desc = message('flwr.proto.ConfigRecordValue', [
  ...MetricRecordValue.fields,
  field(4, 'bool', 'bool'),
  field(5, 'string', 'string'),
  field(6, 'bytes', 'bytes'),
  sub(24, 'boolList', () => BoolList),
  sub(25, 'stringList', () => StringList),
  sub(26, 'bytesList', () => BytesList),
]);
const items = (name: string, value: () => Desc) =>
  message(name, [
    sub(1, 'items', () => message(`${name}.Item`, [field(1, 'key', 'string'), sub(2, 'value', value)]), true),
  ]);
export const MetricRecord: Desc = items('flwr.proto.MetricRecord', () => MetricRecordValue);
export const ConfigRecord: Desc = items('flwr.proto.ConfigRecord', () => ConfigRecordValue);
/** Sent empty: in 1.26 the records travel as objects; its presence says the message has content. */
export const RecordDict: Desc = message('flwr.proto.RecordDict', []);

// message.proto
export const Metadata: Desc = message('flwr.proto.Metadata', [
  id(1, 'runId'),
  field(2, 'messageId', 'string'),
  id(3, 'srcNodeId'),
  id(4, 'dstNodeId'),
  field(5, 'replyToMessageId', 'string'),
  field(6, 'groupId', 'string'),
  field(7, 'ttl', 'double'),
  field(8, 'messageType', 'string'),
  field(9, 'createdAt', 'double'),
]);
export const Message: Desc = message('flwr.proto.Message', [
  sub(1, 'metadata', () => Metadata),
  sub(2, 'content', () => RecordDict),
  sub(3, 'error', () => ErrorProto),
]);
export const ObjectTree: Desc = message('flwr.proto.ObjectTree', [
  field(1, 'objectId', 'string'),
  sub(2, 'children', () => ObjectTree, true),
]);
const nodeAndRun = [sub(1, 'node', () => Node), id(2, 'runId')];
export const PushObjectRequest: Desc = message('flwr.proto.PushObjectRequest', [
  ...nodeAndRun,
  field(3, 'objectId', 'string'),
  field(4, 'objectContent', 'bytes'),
]);
export const PushObjectResponse: Desc = message('flwr.proto.PushObjectResponse', [field(1, 'stored', 'bool')]);
export const PullObjectRequest: Desc = message('flwr.proto.PullObjectRequest', [
  ...nodeAndRun,
  field(3, 'objectId', 'string'),
]);
export const PullObjectResponse: Desc = message('flwr.proto.PullObjectResponse', [
  field(1, 'objectFound', 'bool'),
  field(2, 'objectAvailable', 'bool'),
  field(3, 'objectContent', 'bytes'),
]);
export const ConfirmMessageReceivedRequest: Desc = message('flwr.proto.ConfirmMessageReceivedRequest', [
  ...nodeAndRun,
  field(3, 'messageObjectId', 'string'),
]);
const empty = (name: string) => message(`flwr.proto.${name}`, []);

// heartbeat.proto
export const SendNodeHeartbeatRequest: Desc = message('flwr.proto.SendNodeHeartbeatRequest', [
  sub(1, 'node', () => Node),
  field(2, 'heartbeatInterval', 'double'),
]);
export const SendNodeHeartbeatResponse: Desc = message('flwr.proto.SendNodeHeartbeatResponse', [
  field(1, 'success', 'bool'),
]);

// fleet.proto
const nodeId = (name: string) => message(`flwr.proto.${name}`, [id(1, 'nodeId')]);
export const RegisterNodeFleetRequest: Desc = message('flwr.proto.RegisterNodeFleetRequest', [
  field(1, 'publicKey', 'bytes'),
]);
export const ActivateNodeRequest: Desc = message('flwr.proto.ActivateNodeRequest', [
  field(1, 'publicKey', 'bytes'),
  field(2, 'heartbeatInterval', 'double'),
]);
export const Reconnect: Desc = message('flwr.proto.Reconnect', [field(1, 'reconnect', 'uint64')]);
export const PullMessagesRequest: Desc = message('flwr.proto.PullMessagesRequest', [
  sub(1, 'node', () => Node),
  field(2, 'messageIds', 'string', R),
]);
export const PullMessagesResponse: Desc = message('flwr.proto.PullMessagesResponse', [
  sub(1, 'reconnect', () => Reconnect),
  sub(2, 'messagesList', () => Message, true),
  sub(3, 'messageObjectTrees', () => ObjectTree, true),
]);
export const PushMessagesRequest: Desc = message('flwr.proto.PushMessagesRequest', [
  sub(1, 'node', () => Node),
  sub(2, 'messagesList', () => Message, true),
  sub(3, 'messageObjectTrees', () => ObjectTree, true),
  field(4, 'clientappRuntimeList', 'double', { repeated: true, packed: true }),
]);
/** `map<string, uint32> results = 2` is, on the wire, a repeated entry message {key = 1, value = 2}. */
const ResultsEntry = message('flwr.proto.PushMessagesResponse.ResultsEntry', [
  field(1, 'key', 'string'),
  field(2, 'value', 'uint64'),
]);
export const PushMessagesResponse: Desc = message('flwr.proto.PushMessagesResponse', [
  sub(1, 'reconnect', () => Reconnect),
  sub(2, 'results', () => ResultsEntry, true),
  field(3, 'objectsToPush', 'string', R),
]);

/** The Fleet RPCs this client calls: request and response messages by method name. */
export const FLEET_RPCS = {
  RegisterNode: [RegisterNodeFleetRequest, nodeId('RegisterNodeFleetResponse')],
  ActivateNode: [ActivateNodeRequest, nodeId('ActivateNodeResponse')],
  DeactivateNode: [nodeId('DeactivateNodeRequest'), empty('DeactivateNodeResponse')],
  UnregisterNode: [nodeId('UnregisterNodeFleetRequest'), empty('UnregisterNodeFleetResponse')],
  SendNodeHeartbeat: [SendNodeHeartbeatRequest, SendNodeHeartbeatResponse],
  PullMessages: [PullMessagesRequest, PullMessagesResponse],
  PushMessages: [PushMessagesRequest, PushMessagesResponse],
  PullObject: [PullObjectRequest, PullObjectResponse],
  PushObject: [PushObjectRequest, PushObjectResponse],
  ConfirmMessageReceived: [ConfirmMessageReceivedRequest, empty('ConfirmMessageReceivedResponse')],
} as const satisfies Record<string, readonly [Desc, Desc]>;

export type FleetRpc = keyof typeof FLEET_RPCS;

/** The gRPC path of a Fleet RPC (`package.Service/Method`). */
export const fleetPath = (rpc: FleetRpc) => `/flwr.proto.Fleet/${rpc}`;
