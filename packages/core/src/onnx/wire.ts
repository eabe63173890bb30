/**
 * The protobuf wire format, small and strict: a bounds-checked reader over one buffer that
 * hands out zero-copy views for length-delimited fields, and a writer that fills a buffer
 * allocated once at its final size. Schema knowledge lives in schema.ts, not here.
 */
import { ModelFormatError } from '../errors.js';

export const enum WireType {
  Varint = 0,
  I64 = 1,
  Len = 2,
  SGroup = 3,
  EGroup = 4,
  I32 = 5,
}

const utf8 = new TextDecoder('utf-8');

export class WireReader {
  pos: number;
  readonly buf: Uint8Array;
  private readonly view: DataView;
  /** Field path for error messages, maintained by the caller. */
  path: string[] = [];

  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.pos = pos;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(message: string, at = this.pos): never {
    throw new ModelFormatError(`${message} at byte ${at}${this.path.length ? ` (in ${this.path.join('.')})` : ''}`, {
      byteOffset: at,
      fieldPath: this.path.join('.'),
    });
  }

  /** Varint as a JS number; values beyond 2^53 lose precision, negative int64 come back negative. */
  varint(): number {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let shift = 0;
    let b: number;
    // Low 28 bits fast path, then fall back to BigInt-free arithmetic for the rest.
    do {
      if (pos >= buf.length) this.fail('varint runs past the end of the data', this.pos);
      b = buf[pos++];
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift < 70) {
        this.pos = pos - 1;
        return this.varintSlow(lo, shift);
      }
      shift += 7;
    } while (b & 0x80);
    this.pos = pos;
    return lo >>> 0;
  }

  private varintSlow(lo: number, shift: number): number {
    let value = BigInt(lo >>> 0);
    let b: number;
    let count = shift / 7;
    do {
      if (this.pos >= this.buf.length) this.fail('varint runs past the end of the data');
      if (++count > 10) this.fail('varint longer than 10 bytes');
      b = this.buf[this.pos++];
      value |= BigInt(b & 0x7f) << BigInt(shift);
      shift += 7;
    } while (b & 0x80);
    return Number(BigInt.asIntN(64, value));
  }

  /** Varint as an exact signed 64-bit BigInt. */
  varintBig(): bigint {
    let value = 0n;
    let shift = 0n;
    let b: number;
    let count = 0;
    do {
      if (this.pos >= this.buf.length) this.fail('varint runs past the end of the data');
      if (++count > 10) this.fail('varint longer than 10 bytes');
      b = this.buf[this.pos++];
      value |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    return BigInt.asIntN(64, value);
  }

  /** Length prefix, checked against the bytes that remain before `end`. */
  length(end: number): number {
    const at = this.pos;
    const n = this.varint();
    if (n < 0 || this.pos + n > end)
      this.fail(`length ${n} runs past the end of its enclosing message (${end - this.pos} bytes left)`, at);
    return n;
  }

  bytes(end: number): Uint8Array {
    const n = this.length(end);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(end: number): string {
    const n = this.length(end);
    const s = utf8.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }

  float(end: number): number {
    if (this.pos + 4 > end) this.fail('float runs past the end of its message');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(end: number): number {
    if (this.pos + 8 > end) this.fail('double runs past the end of its message');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Skip one field of the given wire type; returns nothing, checks bounds. */
  skip(wire: WireType, end: number): void {
    switch (wire) {
      case WireType.Varint:
        this.varint();
        break;
      case WireType.I64:
        if ((this.pos += 8) > end) this.fail('fixed64 runs past the end of its message');
        break;
      case WireType.I32:
        if ((this.pos += 4) > end) this.fail('fixed32 runs past the end of its message');
        break;
      case WireType.Len:
        this.pos += this.length(end);
        break;
      default:
        this.fail(`unsupported wire type ${wire}`);
    }
  }
}

/** Bytes a varint of this (non-negative or int64-as-negative) value takes. */
export function varintSize(v: number): number {
  if (v < 0) return 10;
  if (v < 0x80) return 1;
  // The writer clamps to INT64_MAX, which takes 9 bytes.
  if (v >= 2 ** 63) return 9;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 4;
  v = Math.floor(v / 0x10000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 128);
  }
  return n;
}

export function varintSizeBig(v: bigint): number {
  let u = BigInt.asUintN(64, v);
  let n = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    n++;
  }
  return n;
}

/** UTF-8 byte length of a JS string without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const utf8Encoder = new TextEncoder();
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

export class WireWriter {
  readonly buf: Uint8Array;
  pos = 0;
  private readonly view: DataView;
  /** Large byte fields left in place (not copied) when writing chunks: where each goes and its bytes. */
  readonly splices: { at: number; data: Uint8Array }[] = [];

  /**
   * @param size exact output size
   * @param spliceThreshold byte fields at least this long are referenced, not copied
   *   (see {@link WireWriter.chunks}); the buffer's gaps for them are never touched, so
   *   their pages are never faulted in.
   */
  constructor(
    size: number,
    private readonly spliceThreshold = Infinity,
  ) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  /** The output as a list of views: written bytes interleaved with the spliced fields. */
  chunks(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let last = 0;
    for (const { at, data } of this.splices) {
      if (at > last) out.push(this.buf.subarray(last, at));
      out.push(data);
      last = at + data.byteLength;
    }
    if (last < this.pos) out.push(this.buf.subarray(last, this.pos));
    return out;
  }

  tag(field: number, wire: WireType): void {
    this.varint(field * 8 + wire);
  }

  varint(v: number): void {
    if (v < 0 || v > 0xffffffff) {
      this.varintBig(BigInt(Math.trunc(v)));
      return;
    }
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.pos++] = v;
  }

  /** int64 varint; values outside int64 are clamped (they come from float64 round-off of INT64_MAX/MIN). */
  varintBig(v: bigint): void {
    if (v > INT64_MAX) v = INT64_MAX;
    else if (v < INT64_MIN) v = INT64_MIN;
    let u = BigInt.asUintN(64, v);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  bytes(b: Uint8Array): void {
    this.varint(b.byteLength);
    if (b.byteLength >= this.spliceThreshold) this.splices.push({ at: this.pos, data: b });
    else this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  raw(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  string(s: string, byteLength: number): void {
    this.varint(byteLength);
    if (byteLength === s.length) {
      for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
    } else {
      utf8Encoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + byteLength));
      this.pos += byteLength;
    }
  }

  float(v: number): void {
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }
  double(v: number): void {
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
}
