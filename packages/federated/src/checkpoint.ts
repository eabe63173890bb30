import { InvalidArgumentError, Tensor } from '@edgeml/core';
import type { RoundReport } from './simulate.js';
import type { Weights } from './weights.js';

/** Everything a simulation needs to resume after a round: the global weights, the history, the privacy spent. */
export interface SimulationCheckpoint {
  /** Rounds completed. */
  round: number;
  weights: Weights;
  rounds: RoundReport[];
  /** Accumulated Rényi DP per order, when differential privacy is on. */
  rdp?: number[];
}

const MAGIC = 'EDGEML-FL1';

/** A checkpoint as bytes: a magic line, a JSON header (names, shapes, history), then float32 weights, little-endian. */
export function encodeCheckpoint(checkpoint: SimulationCheckpoint): Uint8Array {
  const names = Object.keys(checkpoint.weights).sort();
  const header = new TextEncoder().encode(
    JSON.stringify({
      round: checkpoint.round,
      rounds: checkpoint.rounds,
      rdp: checkpoint.rdp,
      weights: names.map((n) => ({ name: n, dims: checkpoint.weights[n].dims })),
    }),
  );
  const magic = new TextEncoder().encode(`${MAGIC}\n`);
  const values = names.reduce((n, k) => n + checkpoint.weights[k].size, 0);
  const out = new Uint8Array(magic.length + 4 + header.length + 4 * values);
  out.set(magic);
  const view = new DataView(out.buffer);
  view.setUint32(magic.length, header.length, true);
  out.set(header, magic.length + 4);
  let at = magic.length + 4 + header.length;
  for (const k of names)
    for (const v of checkpoint.weights[k].data as Float32Array) {
      view.setFloat32(at, v, true);
      at += 4;
    }
  return out;
}

/** Read {@link encodeCheckpoint}'s bytes; `source` names the file in errors. */
export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): SimulationCheckpoint {
  const fail = (why: string) =>
    new InvalidArgumentError(`'${source}' is not an EdgeML federated checkpoint: ${why}`, 'resume');
  const magic = new TextEncoder().encode(`${MAGIC}\n`);
  if (bytes.length < magic.length + 4 || !magic.every((b, i) => bytes[i] === b)) throw fail('its first line is wrong');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(magic.length, true);
  if (magic.length + 4 + headerLength > bytes.length) throw fail('its header runs past the end');
  let header: { round: number; rounds: RoundReport[]; rdp?: number[]; weights: { name: string; dims: number[] }[] };
  try {
    header = JSON.parse(
      new TextDecoder().decode(bytes.subarray(magic.length + 4, magic.length + 4 + headerLength)),
    ) as typeof header;
  } catch {
    throw fail('its header is not JSON');
  }
  if (!Number.isInteger(header.round) || !Array.isArray(header.rounds) || !Array.isArray(header.weights))
    throw fail('its header lacks the round, the history or the weight list');
  let at = magic.length + 4 + headerLength;
  const weights: Weights = {};
  for (const { name, dims } of header.weights) {
    const size = dims.reduce((a, b) => a * b, 1);
    if (at + 4 * size > bytes.length) throw fail(`weight '${name}' runs past the end`);
    weights[name] = Tensor.from(
      'float32',
      dims,
      Float32Array.from({ length: size }, (_, i) => view.getFloat32(at + 4 * i, true)),
    );
    at += 4 * size;
  }
  if (at !== bytes.length) throw fail(`${bytes.length - at} bytes follow the weights`);
  return { round: header.round, rounds: header.rounds, rdp: header.rdp, weights };
}
