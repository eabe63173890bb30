/**
 * Flower 1.26.1's Fleet messages against bytes written out by hand from the .proto field
 * numbers and types (tag = field number << 3 | wire type; wire types: 0 varint, 1 64-bit,
 * 2 length-delimited). Each fixture is checked both ways: encode gives these bytes, decode
 * gives the value back.
 */
import { describe, expect, it } from 'vitest';
import { decodeProto, encodeProto, type ProtoMessage, type ProtoMessageDesc } from '@edgeml/core';
import * as proto from './proto.js';
import { decodeRecordBody, encodeRecordBody } from './records.js';

const bytes = (...parts: (number | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'utf8')] : [p])));

function both(desc: ProtoMessageDesc, value: ProtoMessage, wire: Uint8Array) {
  expect(Buffer.from(encodeProto(value, desc)).toString('hex')).toBe(Buffer.from(wire).toString('hex'));
  expect(decodeProto(wire, desc)).toEqual(value);
}

describe('Flower Fleet messages, byte for byte', () => {
  it('Node: a 64-bit node id past 2^63 survives exactly', () => {
    // field 1 (node_id, uint64), wire 0: tag 0x08; 2^63 + 1 as a 10-byte varint: 7-bit groups, low first.
    both(
      proto.Node,
      { nodeId: 2n ** 63n + 1n },
      bytes(0x08, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
    );
  });

  it('SendNodeHeartbeatRequest / Response: a nested Node, a double, a bool', () => {
    both(
      proto.SendNodeHeartbeatRequest,
      { node: { nodeId: 7n }, heartbeatInterval: 30 },
      // field 1 (node), wire 2: 0x0a, length 2, { field 1 varint: 0x08 0x07 }
      // field 2 (heartbeat_interval, double), wire 1: 0x11, then 30.0 little-endian (0x403e000000000000)
      bytes(0x0a, 0x02, 0x08, 0x07, 0x11, 0, 0, 0, 0, 0, 0, 0x3e, 0x40),
    );
    // field 1 (success, bool), wire 0: 0x08 0x01
    both(proto.SendNodeHeartbeatResponse, { success: true }, bytes(0x08, 0x01));
  });

  it('Error: sint64 is zigzag-encoded', () => {
    // field 1 (code, sint64): 0x08, zigzag(-3) = 5; field 2 (reason, string), wire 2: 0x12, length 1, 'x'
    both(proto.ErrorProto, { code: -3, reason: 'x' }, bytes(0x08, 0x05, 0x12, 0x01, 'x'));
  });

  it('Metadata: run id, ttl and message type in field order', () => {
    both(
      proto.Metadata,
      { runId: 42n, ttl: 1, messageType: 'train' },
      // field 1 (run_id) varint 42: 0x08 0x2a; field 7 (ttl, double): tag 7<<3|1 = 0x39, 1.0 = 0x3ff0000000000000;
      // field 8 (message_type, string): tag 8<<3|2 = 0x42, length 5, 'train'
      bytes(0x08, 0x2a, 0x39, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x42, 0x05, 'train'),
    );
  });

  it('Message with empty content: the RecordDict is present but empty', () => {
    // field 1 (metadata): 0x0a, length 2, { 0x08 0x01 }; field 2 (content): 0x12, length 0
    both(proto.Message, { metadata: { runId: 1n }, content: {} }, bytes(0x0a, 0x02, 0x08, 0x01, 0x12, 0x00));
  });

  it('ObjectTree nests itself', () => {
    // field 1 (object_id): 0x0a 0x01 'r'; field 2 (children, repeated ObjectTree): 0x12, length 3, { 0x0a 0x01 'c' }
    both(
      proto.ObjectTree,
      { objectId: 'r', children: [{ objectId: 'c' }] },
      bytes(0x0a, 0x01, 'r', 0x12, 0x03, 0x0a, 0x01, 'c'),
    );
  });

  it('PushMessagesRequest: repeated doubles are packed; PushMessagesResponse: the results map and objects_to_push', () => {
    both(
      proto.PushMessagesRequest,
      { node: { nodeId: 2n }, clientappRuntimeList: [0.5] },
      // field 1: 0x0a 0x02 0x08 0x02; field 4 (repeated double, packed): tag 4<<3|2 = 0x22, length 8, 0.5 = 0x3fe0000000000000
      bytes(0x0a, 0x02, 0x08, 0x02, 0x22, 0x08, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f),
    );
    both(
      proto.PushMessagesResponse,
      { reconnect: { reconnect: 5 }, results: [{ key: 'm', value: 0 }], objectsToPush: ['ab'] },
      // field 1 (Reconnect): 0x0a 0x02 { 0x08 0x05 }; field 2 (map<string, uint32> entry): 0x12 0x05 { key: 0x0a 0x01 'm', value: 0x10 0x00 }
      // field 3 (repeated string): 0x1a 0x02 'ab'
      bytes(0x0a, 0x02, 0x08, 0x05, 0x12, 0x05, 0x0a, 0x01, 'm', 0x10, 0x00, 0x1a, 0x02, 'ab'),
    );
  });

  it('PullObjectResponse: two bools and the object bytes', () => {
    // fields 1 and 2 (bool): 0x08 0x01 0x10 0x01; field 3 (bytes): 0x1a 0x02 0xde 0xad
    both(
      proto.PullObjectResponse,
      { objectFound: true, objectAvailable: true, objectContent: bytes(0xde, 0xad) },
      bytes(0x08, 0x01, 0x10, 0x01, 0x1a, 0x02, 0xde, 0xad),
    );
  });

  it('MetricRecord and ConfigRecord bodies: ints are sint64, floats double, lists packed', () => {
    const metric = new Map([['num-examples', 60n]]);
    // MetricRecord field 1 (items), wire 2: 0x0a, length 18 = { Item.key (1): 0x0a 0x0c 'num-examples', Item.value (2): 0x12 0x02 { MetricRecordValue.sint64 (2): 0x10, zigzag(60) = 0x78 } }
    const metricWire = bytes(0x0a, 0x12, 0x0a, 0x0c, 'num-examples', 0x12, 0x02, 0x10, 0x78);
    expect(Buffer.from(encodeRecordBody('metrics', metric)).toString('hex')).toBe(
      Buffer.from(metricWire).toString('hex'),
    );
    expect(decodeRecordBody('metrics', metricWire, 'fixture')).toEqual(metric);

    const config = new Map<string, boolean | number[]>([
      ['b', true],
      ['l', [1.5]],
    ]);
    const configWire = bytes(
      // item 'b': 0x0a 0x07 { 0x0a 0x01 'b', 0x12 0x02 { ConfigRecordValue.bool (4), wire 0: 0x20 0x01 } }
      0x0a,
      0x07,
      0x0a,
      0x01,
      'b',
      0x12,
      0x02,
      0x20,
      0x01,
      // item 'l': 0x0a 0x12 { 0x0a 0x01 'l', 0x12 0x0d { double_list (21), wire 2: tag 21<<3|2 = 170 = 0xaa 0x01, length 10,
      //   DoubleList { vals (1), packed: 0x0a, length 8, 1.5 = 0x3ff8000000000000 } } }
      0x0a,
      0x12,
      0x0a,
      0x01,
      'l',
      0x12,
      0x0d,
      0xaa,
      0x01,
      0x0a,
      0x0a,
      0x08,
      0,
      0,
      0,
      0,
      0,
      0,
      0xf8,
      0x3f,
    );
    expect(Buffer.from(encodeRecordBody('config', config)).toString('hex')).toBe(
      Buffer.from(configWire).toString('hex'),
    );
    expect(decodeRecordBody('config', configWire, 'fixture')).toEqual(config);
  });

  it('truncated bytes are a typed error naming the RPC', () => {
    expect(() =>
      decodeProto(bytes(0x0a, 0x05, 0x08), proto.PullMessagesResponse, 'Fleet.PullMessages response'),
    ).toThrow(
      expect.objectContaining({
        name: 'ModelFormatError',
        message: expect.stringContaining('Fleet.PullMessages response'),
      }),
    );
  });
});
