/**
 * Flower's object format: a hand-derived ArrayChunk, and a whole message's objects checked by
 * Python — `hashlib` for the ids, `json.dumps` for the bodies (byte for byte as Flower writes
 * them) and `numpy.load` for the arrays' .npy bytes — then inflated back.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Tensor, encodeNpy } from '@edgeml/core';
import { messageFromObjects, messageToObjects, type FlowerMessage } from './message-objects.js';
import { MAX_ARRAY_CHUNK_BYTES, objectBytes, objectId, parseObject, pyJson } from './objects.js';
import { NUMPY_STYPE, type FlowerArray, type MetricValue } from './records.js';

const ORACLE = `
import hashlib, io, json, sys
import numpy as np
objects = {k: bytes.fromhex(v) for k, v in json.load(sys.stdin).items()}
out = {}
for oid, content in objects.items():
    assert hashlib.sha256(content).hexdigest() == oid, 'id is not the sha256 of ' + oid
    head, body = content.split(b'\\x00', 1)
    kind, children, length = head.decode().split(' ')
    assert int(length) == len(body)
    children = children.split(',') if children else []
    entry = {'type': kind, 'children': children}
    if kind in ('Array', 'ArrayRecord', 'RecordDict'):
        parsed = json.loads(body)
        assert json.dumps(parsed).encode() == body, 'not json.dumps bytes: ' + body.decode()
        entry['json'] = parsed
    if kind == 'Array':
        data = b''.join(objects[children[i]][len(objects[children[i]].split(b'\\x00', 1)[0]) + 1:] for i in parsed['arraychunk_ids'])
        arr = np.load(io.BytesIO(data), allow_pickle=False)
        entry['npy'] = {'dtype': str(arr.dtype), 'shape': list(arr.shape), 'sha256': hashlib.sha256(arr.tobytes()).hexdigest()}
    out[oid] = entry
json.dump(out, sys.stdout)
`;

function python(objects: Map<string, Uint8Array>) {
  const input = JSON.stringify(Object.fromEntries([...objects].map(([k, v]) => [k, Buffer.from(v).toString('hex')])));
  const res = spawnSync('/usr/bin/python3', ['-c', ORACLE], { input, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (res.status !== 0) throw new Error(`python oracle failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as Record<
    string,
    { type: string; children: string[]; json?: unknown; npy?: { dtype: string; shape: number[]; sha256: string } }
  >;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const npyArray = (t: Tensor): FlowerArray => ({
  dtype: t.dtype,
  shape: [...t.dims],
  stype: NUMPY_STYPE,
  data: encodeNpy(t),
});

describe('Flower objects', () => {
  it('an ArrayChunk is "ArrayChunk", an empty child list, the body length, NUL, the body; its id is the SHA-256', async () => {
    const bytes = objectBytes({ type: 'ArrayChunk', children: [], body: new TextEncoder().encode('abc') });
    expect(Buffer.from(bytes).toString('latin1')).toBe('ArrayChunk  3\0abc');
    expect(await objectId(bytes)).toBe(createHash('sha256').update('ArrayChunk  3\0abc').digest('hex'));
    expect(await parseObject(await objectId(bytes), bytes)).toMatchObject({ type: 'ArrayChunk', children: [] });
    await expect(parseObject('0'.repeat(64), bytes)).rejects.toMatchObject({ name: 'FlowerProtocolError' });
  });

  it('JSON bodies are written as Python json.dumps writes them', () => {
    expect(pyJson({ dtype: 'float32', shape: [2, 3], stype: 'numpy.ndarray', arraychunk_ids: [0] })).toBe(
      '{"dtype": "float32", "shape": [2, 3], "stype": "numpy.ndarray", "arraychunk_ids": [0]}',
    );
    expect(pyJson({ 'é\n': 'x' })).toBe('{"\\u00e9\\n": "x"}');
  });

  it('a message with arrays (one over 5 MiB, chunked; two identical) and metrics: Python agrees on every id, body and .npy, and it inflates back', async () => {
    const big = Tensor.from(
      'float32',
      [MAX_ARRAY_CHUNK_BYTES / 4 + 3],
      Float32Array.from({ length: MAX_ARRAY_CHUNK_BYTES / 4 + 3 }, (_, i) => i / 7),
    );
    const small = Tensor.from('float32', [2, 3], Float32Array.of(1, -2, 3.5, 0, 1e-8, -0));
    const message: FlowerMessage = {
      metadata: {
        runId: 9n,
        messageId: '',
        srcNodeId: 2n ** 64n - 1n,
        dstNodeId: 1n,
        replyToMessageId: 'a'.repeat(64),
        groupId: '3',
        ttl: 100,
        messageType: 'train',
        createdAt: 1_800_000_000.25,
      },
      content: new Map([
        [
          'arrays',
          {
            kind: 'arrays',
            arrays: new Map([
              ['big', npyArray(big)],
              ['w', npyArray(small)],
              ['same', npyArray(small)],
            ]),
          },
        ],
        [
          'metrics',
          {
            kind: 'metrics',
            values: new Map<string, MetricValue>([
              ['num-examples', 60n],
              ['train_loss', 0.25],
            ]),
          },
        ],
      ]),
    };
    const { messageId, objects, tree } = await messageToObjects(message);
    expect(tree.objectId).toBe(messageId);
    const seen = python(objects);
    const arrays = Object.values(seen).filter((o) => o.type === 'Array');
    expect(arrays.map((a) => a.npy).sort((a, b) => a!.shape[0] - b!.shape[0])).toEqual([
      { dtype: 'float32', shape: [2, 3], sha256: sha256(small.bytes) },
      { dtype: 'float32', shape: [big.size], sha256: sha256(big.bytes) },
    ]); // 'w' and 'same' are one object
    const bigArray = arrays.find((a) => a.npy!.shape[0] === big.size)!;
    expect(bigArray.children).toHaveLength(2); // 5 MiB and the rest
    expect(seen[messageId]).toMatchObject({ type: 'Message', children: [tree.children[0].objectId] });

    const back = await messageFromObjects(messageId, objects);
    expect(back.metadata).toEqual({ ...message.metadata, messageId });
    // Compared by digest: a deep equality over 5 MiB of bytes is slow.
    const digestOf = (m: FlowerMessage) =>
      [...m.content!].map(([name, r]) =>
        r.kind === 'arrays'
          ? [name, [...r.arrays].map(([k, a]) => [k, a.dtype, a.shape, a.stype, sha256(a.data)])]
          : [name, r.kind, [...r.values]],
      );
    expect(digestOf(back)).toEqual(digestOf(message));

    const corrupt = new Map(objects);
    const [someId, someBytes] = [...objects].find(([, b]) =>
      Buffer.from(b).toString('latin1').startsWith('MetricRecord'),
    )!;
    corrupt.set(
      someId,
      Uint8Array.from(someBytes, (b, i) => (i === someBytes.length - 1 ? b ^ 1 : b)),
    );
    await expect(messageFromObjects(messageId, corrupt)).rejects.toThrow(/hash to/);
  });
});
