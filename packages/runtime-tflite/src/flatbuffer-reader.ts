import { ModelFormatError } from '@edgeml/core';

/**
 * A bounds-checked reader of FlatBuffers tables, enough to read a .tflite file's header
 * (tensors, inputs, outputs, quantization, operator codes) before TFLite sees the bytes.
 *
 * Why not the `flatbuffers` package: its ByteBuffer does not check offsets, so a hostile or
 * truncated file reads garbage or walks huge vector lengths; here every offset and length is
 * checked against the buffer and a bad one becomes a {@link ModelFormatError} naming the field,
 * the byte offset and the file. TFLite's own verifier runs afterwards on the same bytes.
 */
export class FlatBufferReader {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    /** Named in every error (a file path, or a description of where the bytes came from). */
    readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string, fieldPath: string, byteOffset: number): never {
    throw new ModelFormatError(
      `${this.source} is not a valid .tflite flatbuffer: ${message} (field ${fieldPath}, byte ${byteOffset})`,
      { fieldPath, byteOffset, file: this.source },
    );
  }

  private need(offset: number, size: number, field: string): void {
    if (!(offset >= 0 && offset + size <= this.bytes.byteLength))
      this.fail(`${size} bytes at ${offset} lie past the end of the ${this.bytes.byteLength}-byte file`, field, offset);
  }

  u8(offset: number, field: string): number {
    this.need(offset, 1, field);
    return this.view.getUint8(offset);
  }

  i32(offset: number, field: string): number {
    this.need(offset, 4, field);
    return this.view.getInt32(offset, true);
  }

  u32(offset: number, field: string): number {
    this.need(offset, 4, field);
    return this.view.getUint32(offset, true);
  }

  /** The root table's position (the first word of the file). */
  root(): number {
    return this.u32(0, 'root');
  }

  /** The position of field `index` of the table at `table`, or undefined when the field is absent. */
  field(table: number, index: number, field: string): number | undefined {
    const vtable = table - this.i32(table, `${field} (vtable offset)`);
    const vtableSize = this.u16(vtable, `${field} (vtable size)`);
    const slot = 4 + 2 * index;
    if (slot + 2 > vtableSize) return undefined;
    const delta = this.u16(vtable + slot, field);
    return delta === 0 ? undefined : table + delta;
  }

  private u16(offset: number, field: string): number {
    this.need(offset, 2, field);
    return this.view.getUint16(offset, true);
  }

  /** The table an offset field points to. */
  table(fieldPos: number, field: string): number {
    return fieldPos + this.u32(fieldPos, field);
  }

  /** A vector field: where its elements start and how many there are (checked to fit `elementSize` each). */
  vector(fieldPos: number, elementSize: number, field: string): { start: number; length: number } {
    const at = fieldPos + this.u32(fieldPos, field);
    const length = this.u32(at, `${field} (length)`);
    this.need(at + 4, length * elementSize, field);
    return { start: at + 4, length };
  }

  /** Elements of a vector of tables (each an offset to the table). */
  tables(table: number, index: number, field: string): number[] {
    const pos = this.field(table, index, field);
    if (pos === undefined) return [];
    const { start, length } = this.vector(pos, 4, field);
    return Array.from({ length }, (_, i) => this.table(start + 4 * i, `${field}[${i}]`));
  }

  ints(table: number, index: number, field: string): number[] | undefined {
    const pos = this.field(table, index, field);
    if (pos === undefined) return undefined;
    const { start, length } = this.vector(pos, 4, field);
    return Array.from({ length }, (_, i) => this.view.getInt32(start + 4 * i, true));
  }

  floats(table: number, index: number, field: string): number[] | undefined {
    const pos = this.field(table, index, field);
    if (pos === undefined) return undefined;
    const { start, length } = this.vector(pos, 4, field);
    return Array.from({ length }, (_, i) => this.view.getFloat32(start + 4 * i, true));
  }

  longs(table: number, index: number, field: string): number[] | undefined {
    const pos = this.field(table, index, field);
    if (pos === undefined) return undefined;
    const { start, length } = this.vector(pos, 8, field);
    return Array.from({ length }, (_, i) => Number(this.view.getBigInt64(start + 8 * i, true)));
  }

  string(table: number, index: number, field: string): string | undefined {
    const pos = this.field(table, index, field);
    if (pos === undefined) return undefined;
    const { start, length } = this.vector(pos, 1, field);
    return new TextDecoder().decode(this.bytes.subarray(start, start + length));
  }

  scalarI32(table: number, index: number, field: string, fallback: number): number {
    const pos = this.field(table, index, field);
    return pos === undefined ? fallback : this.i32(pos, field);
  }

  scalarI8(table: number, index: number, field: string, fallback: number): number {
    const pos = this.field(table, index, field);
    return pos === undefined ? fallback : (this.u8(pos, field) << 24) >> 24;
  }
}
