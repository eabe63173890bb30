/**
 * Reading a model file without its large weights (Node only). The file is walked as protobuf,
 * a window at a time, down the paths where weights live (graph initializers and the tensors
 * of node attributes, in the main graph and in the graphs of attributes); every
 * `raw_data` of at least `minBytes` is left on disk and replaced, in the copy handed to the
 * decoder, by an external-data reference to the file itself. Peak memory is the model without
 * those weights, instead of the whole file: a 100 MB model is not read into memory to be
 * decoded and then let go of at the next major garbage collection.
 *
 * The walk only restructures what it recognises; anything it does not expect (a group wire
 * type, a length past its message) makes it give up, and the caller decodes the file the
 * ordinary way, whose errors say what is wrong.
 */
import * as fs from 'node:fs';
import { WireType, varintSize } from './wire.js';

/** The external-data location that means "this model file" (a NUL never appears in a real path). */
export const SELF_LOCATION = '\0edgeml:model-file';

/** Where one left-out raw_data lies in the file. */
export interface LeftOutBytes {
  offset: number;
  length: number;
}

/** The model's bytes with the large raw_data fields left out, and where those lie in the file. */
export interface ModelSkeleton {
  bytes: Uint8Array;
  leftOut: LeftOutBytes[];
}

/** Which length-delimited fields of a message to walk into (field number → message kind). */
type Kind = 'model' | 'graph' | 'node' | 'attribute' | 'tensor';
const CHILDREN: Record<Kind, ReadonlyMap<number, Kind>> = {
  // ModelProto.graph; GraphProto.node, .initializer; NodeProto.attribute; AttributeProto.t, .g,
  // .tensors, .graphs. Sparse initializers and functions are copied whole.
  model: new Map([[7, 'graph']]),
  graph: new Map<number, Kind>([
    [1, 'node'],
    [5, 'tensor'],
  ]),
  node: new Map([[5, 'attribute']]),
  attribute: new Map<number, Kind>([
    [5, 'tensor'],
    [6, 'graph'],
    [10, 'tensor'],
    [11, 'graph'],
  ]),
  tensor: new Map(),
};
const RAW_DATA = 9;
const EXTERNAL_DATA = 13;
const DATA_LOCATION = 14;

class GiveUp extends Error {}

/** Reads a file through one reusable window; bytes handed out are copies. */
class FileWindow {
  private window = new Uint8Array(0);
  private start = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly span = 1 << 22,
  ) {}

  /** A copy of `length` bytes at `offset`. */
  copy(offset: number, length: number): Uint8Array {
    if (offset + length > this.size) throw new GiveUp();
    if (length > this.span) {
      const out = new Uint8Array(length);
      for (let done = 0; done < length;) {
        const n = fs.readSync(this.fd, out, done, length - done, offset + done);
        if (n === 0) throw new GiveUp();
        done += n;
      }
      return out;
    }
    this.cover(offset, length);
    return this.window.slice(offset - this.start, offset - this.start + length);
  }

  byte(offset: number): number {
    if (offset >= this.size) throw new GiveUp();
    this.cover(offset, 1);
    return this.window[offset - this.start];
  }

  private cover(offset: number, length: number): void {
    if (offset >= this.start && offset + length <= this.start + this.window.length) return;
    const n = Math.min(this.span, this.size - offset);
    if (this.window.length !== n) this.window = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const got = fs.readSync(this.fd, this.window, done, n - done, offset + done);
      if (got === 0) throw new GiveUp();
      done += got;
    }
    this.start = offset;
  }

  /** A varint at `offset` (lengths and tags: at most 2^53) and where it ends. */
  varint(offset: number): [value: number, end: number] {
    let value = 0;
    let scale = 1;
    for (let at = offset; at < offset + 10; at++) {
      const b = this.byte(at);
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (!(b & 0x80)) return [value, at + 1];
    }
    throw new GiveUp();
  }
}

function varintBytes(v: number): Uint8Array {
  const out = new Uint8Array(varintSize(v));
  for (let i = 0; i < out.length; i++) {
    out[i] = (v % 128) + (i < out.length - 1 ? 0x80 : 0);
    v = Math.floor(v / 128);
  }
  return out;
}

const utf8 = new TextEncoder();

function lenField(field: number, body: Uint8Array[]): Uint8Array[] {
  let length = 0;
  for (const b of body) length += b.byteLength;
  const out = [varintBytes(field * 8 + WireType.Len), varintBytes(length)];
  for (const b of body) out.push(b);
  return out;
}

/** TensorProto fields saying "external, in this file, at offset, length". */
function selfReference(offset: number, length: number): Uint8Array[] {
  const entry = (key: string, value: string) =>
    lenField(EXTERNAL_DATA, [...lenField(1, [utf8.encode(key)]), ...lenField(2, [utf8.encode(value)])]);
  return [
    ...entry('location', SELF_LOCATION),
    ...entry('offset', String(offset)),
    ...entry('length', String(length)),
    varintBytes(DATA_LOCATION * 8 + WireType.Varint),
    varintBytes(1),
  ];
}

/** Walk the message of `kind` in [start, end): its bytes with large raw_data left out. */
function walk(
  file: FileWindow,
  kind: Kind,
  start: number,
  end: number,
  minBytes: number,
  leftOut: LeftOutBytes[],
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const tail: Uint8Array[] = [];
  // Fields kept as they are form runs, copied in one piece when something else comes.
  let run = start;
  const flush = (to: number) => {
    if (to > run) out.push(file.copy(run, to - run));
  };
  for (let at = start; at < end;) {
    const [tag, afterTag] = file.varint(at);
    const field = Math.floor(tag / 8);
    const wire = (tag % 8) as WireType;
    let next: number;
    if (wire === WireType.Len) {
      const [length, body] = file.varint(afterTag);
      next = body + length;
      if (next > end) throw new GiveUp();
      const child = CHILDREN[kind].get(field);
      if (child) {
        flush(at);
        for (const piece of lenField(field, walk(file, child, body, next, minBytes, leftOut))) out.push(piece);
        run = next;
      } else if (kind === 'tensor' && field === RAW_DATA && length >= minBytes) {
        flush(at);
        leftOut.push({ offset: body, length });
        // Appended last, so they override a data_location the tensor states earlier.
        tail.push(...selfReference(body, length));
        run = next;
      }
    } else if (wire === WireType.Varint) next = file.varint(afterTag)[1];
    else if (wire === WireType.I64) next = afterTag + 8;
    else if (wire === WireType.I32) next = afterTag + 4;
    else throw new GiveUp();
    if (next > end) throw new GiveUp();
    at = next;
  }
  flush(end);
  for (const piece of tail) out.push(piece);
  return out;
}

/**
 * The skeleton of the model file at `path`: its bytes with every raw_data of at least
 * `minBytes` bytes left out (see the module's docs), or undefined when the file is not laid
 * out as the walk expects (then decode it whole, for the decoder's error).
 */
export function readModelSkeleton(path: string, minBytes: number): ModelSkeleton | undefined {
  const fd = fs.openSync(path, 'r');
  try {
    const file = new FileWindow(fd, fs.fstatSync(fd).size);
    const leftOut: LeftOutBytes[] = [];
    const parts = walk(file, 'model', 0, file.size, Math.max(1, minBytes), leftOut);
    let size = 0;
    for (const p of parts) size += p.byteLength;
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.byteLength;
    }
    return { bytes, leftOut };
  } catch (e) {
    if (e instanceof GiveUp) return undefined;
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}
