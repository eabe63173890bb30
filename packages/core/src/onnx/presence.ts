/**
 * proto2 keeps "present but empty" apart from "absent" (doc_string: "" vs no doc_string).
 * IR objects remember which of their optional fields were present with a default value,
 * so the encoder writes exactly those back and a round trip is lossless.
 */
import type { ProtoMessage } from './schema.js';

/** Objects that remember explicitly written default values. */
export interface HasExplicitDefaults {
  /** Proto field names (camelCase) that were present with a default value ('' or 0). @internal */
  explicitDefaults?: Set<string>;
}

/** Which of `fields` are present in `p` with their default value. */
export function presentDefaults(p: ProtoMessage, fields: readonly string[]): Set<string> | undefined {
  let out: Set<string> | undefined;
  for (const f of fields) {
    const v = p[f];
    if (v === '' || v === 0) (out ??= new Set()).add(f);
  }
  return out;
}

/** Put remembered defaults back into an outgoing message where nothing else was written. */
export function restoreDefaults(
  p: ProtoMessage,
  from: HasExplicitDefaults,
  defaults: Record<string, '' | 0>,
): ProtoMessage {
  if (from.explicitDefaults)
    for (const f of from.explicitDefaults) if (p[f] === undefined && f in defaults) p[f] = defaults[f];
  return p;
}
