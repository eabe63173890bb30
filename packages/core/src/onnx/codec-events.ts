/** What the ONNX codec did: a whole model encoded or decoded, with its size. */
export interface CodecEvent {
  kind: 'encode' | 'decode';
  bytes: number;
}

const listeners = new Set<(event: CodecEvent) => void>();

/**
 * Watch every whole-model encode and decode (`encodeModel`, `encodeModelChunks`, `decodeModel`
 * and the file functions built on them). Tests and benchmarks count model copies with it; it
 * costs nothing when nobody listens. Returns the function that stops watching.
 *
 * @example
 * ```ts
 * let encodes = 0;
 * const stop = observeCodec((e) => { if (e.kind === 'encode') encodes++; });
 * await quantize(model, options);
 * stop();
 * ```
 */
export function observeCodec(listener: (event: CodecEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** @internal */
export function emitCodecEvent(kind: CodecEvent['kind'], bytes: number): void {
  for (const listener of listeners) listener({ kind, bytes });
}
