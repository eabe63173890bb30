import { describe, expect, it } from 'vitest';
import { seededRandom } from '@edgeml/core';
import {
  SecureAggregationClient,
  unmaskSum,
  type AdvertisedKeys,
  type UnmaskRequest,
  type UnmaskResponse,
} from './secure-aggregation.js';
import { SecureAggregationAbortedError, SecureAggregationRefusedError } from './secure-aggregation-errors.js';
import { shamirCombine } from './shamir.js';
import { decodeUpdate, encodeUpdate } from './compression.js';

const vector = (seed: number, n: number) => {
  const r = seededRandom(seed);
  return Float64Array.from({ length: n }, () => (r() - 0.5) * 20);
};
const RING = 2 ** 48;
const fixed = (v: number) => (Math.round(v * 2 ** 24) + RING) % RING;

/** Keys advertised and shares routed among `count` clients, as a server would. */
async function setup(count: number, threshold: number) {
  const clients = await Promise.all(Array.from({ length: count }, (_, id) => SecureAggregationClient.create(id)));
  const roster = new Map<number, AdvertisedKeys>(clients.map((c) => [c.id, c.keys]));
  const inbox = new Map(clients.map((c) => [c.id, new Map<number, Uint8Array>()]));
  for (const c of clients)
    for (const [to, message] of await c.shareKeys(roster, threshold)) inbox.get(to)!.set(c.id, message);
  for (const c of clients) await c.receiveShares(inbox.get(c.id)!, roster);
  return { clients, roster, inbox };
}

async function maskAll(clients: SecureAggregationClient[], n: number) {
  return new Map(
    await Promise.all(clients.map(async (c) => [c.id, await c.maskedInput(vector(c.id + 1, n))] as const)),
  );
}

const plainSum = (ids: number[], n: number) =>
  Float64Array.from({ length: n }, (_, j) => ids.reduce((s, id) => s + vector(id + 1, n)[j], 0));

function ask(clients: SecureAggregationClient[], request: UnmaskRequest) {
  return new Map<number, UnmaskResponse>(clients.map((c) => [c.id, c.unmask(request)]));
}

/** The attack, written here from Web Crypto alone: strip every pairwise mask of `target` from its masked input. */
async function stripPairMasks(
  masked: Float64Array,
  target: number,
  d: Uint8Array,
  roster: Map<number, AdvertisedKeys>,
) {
  const b64 = (b: Uint8Array) =>
    btoa(String.fromCharCode(...b))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  const own = roster.get(target)!.maskingKey;
  const jwk = { kty: 'EC', crv: 'P-256', d: b64(d), x: b64(own.subarray(1, 33)), y: b64(own.subarray(33)) };
  const ecdh = { name: 'ECDH', namedCurve: 'P-256' };
  const privateKey = await crypto.subtle.importKey('jwk', jwk, ecdh, false, ['deriveBits']);
  const out = Float64Array.from(masked);
  for (const [peer, keys] of roster) {
    if (peer === target) continue;
    const publicKey = await crypto.subtle.importKey('raw', keys.maskingKey, ecdh, false, []);
    const bits = await crypto.subtle.deriveBits({ name: 'ECDH', public: publicKey }, privateKey, 256);
    const mask = await aesCtrMask(new Uint8Array(await crypto.subtle.digest('SHA-256', bits)), out.length);
    const sign = peer > target ? -1 : 1;
    for (let i = 0; i < out.length; i++) out[i] = (((out[i] + sign * mask[i]) % RING) + RING) % RING;
  }
  return out;
}

async function aesCtrMask(seed: Uint8Array, n: number) {
  const key = await crypto.subtle.importKey('raw', seed, 'AES-CTR', false, ['encrypt']);
  const counter = new Uint8Array(16);
  const stream = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-CTR', counter, length: 64 }, key, new Uint8Array(6 * n)),
  );
  return Float64Array.from({ length: n }, (_, i) =>
    stream.subarray(6 * i, 6 * i + 6).reduce((v, b, k) => v + b * 2 ** (8 * k), 0),
  );
}

describe('secure aggregation (SecAgg: pairwise and self masks, Shamir-shared keys)', () => {
  it('the unmasked sum equals the plain sum; one masked input alone says nothing of its values', async () => {
    const n = 1000;
    const { clients, roster } = await setup(4, 3);
    const masked = await maskAll(clients, n);
    const ids = clients.map((c) => c.id);
    const sum = await unmaskSum(masked, ask(clients, { survivors: ids, dropped: [] }), roster, 3);
    const plain = plainSum(ids, n);
    for (let j = 0; j < n; j++) expect(Math.abs(sum[j] - plain[j])).toBeLessThan(4 * 2 ** -24);
    const single = masked.get(0)!;
    const unmasked = Array.from(vector(1, n), fixed);
    expect(single.filter((v, j) => v === unmasked[j]).length).toBe(0);
    expect(Math.max(...single)).toBeGreaterThan(2 ** 46);
  });

  it('recovers the sum when clients drop after sharing keys, from any t of the survivors', async () => {
    const n = 300;
    const { clients, roster } = await setup(6, 3);
    const survivors = clients.filter((c) => c.id !== 2 && c.id !== 4);
    const masked = await maskAll(survivors, n);
    const request = { survivors: survivors.map((c) => c.id), dropped: [2, 4] };
    const responses = ask(survivors, request);
    const plain = plainSum(request.survivors, n);
    // Only 3 of the 4 survivors answer: the threshold is enough.
    const three = new Map([...responses].slice(1));
    const recovered = await unmaskSum(masked, three, roster, 3);
    for (let j = 0; j < n; j++) expect(Math.abs(recovered[j] - plain[j])).toBeLessThan(4 * 2 ** -24);
    const two = new Map([...responses].slice(2));
    await expect(unmaskSum(masked, two, roster, 3)).rejects.toThrow(SecureAggregationAbortedError);
  });

  it('fails the round with a typed error below the threshold: survivors reveal nothing', async () => {
    const { clients, roster } = await setup(5, 4);
    const survivors = clients.slice(0, 3);
    const masked = await maskAll(survivors, 10);
    const request = { survivors: [0, 1, 2], dropped: [3, 4] };
    expect(() => survivors[0].unmask(request)).toThrow(SecureAggregationAbortedError);
    expect(() => survivors[0].unmask(request)).toThrow(/3 survivors are fewer than the threshold 4/);
    await expect(unmaskSum(masked, new Map(), roster, 4)).rejects.toMatchObject({
      name: 'SecureAggregationAbortedError',
      code: 'E_SECAGG_ABORTED',
      step: 'masked-input',
      threshold: 4,
    });
    await expect(clients[0].shareKeys(roster, 6)).rejects.toThrow(/threshold t in \[1, 5\]/);
  });

  it('a survivor never reveals both the seed share and the key share of one client, in one request or two', async () => {
    const { clients } = await setup(4, 2);
    const both = { survivors: [0, 1, 2], dropped: [2] };
    expect(() => clients[0].unmask(both)).toThrow(SecureAggregationRefusedError);
    expect(() => clients[0].unmask(both)).toThrow(/asked for both its self-mask seed and its masking key/);
    clients[1].unmask({ survivors: [0, 1, 2], dropped: [3] });
    // The same request again is fine; flipping 2 or 3 is not.
    expect(clients[1].unmask({ survivors: [0, 1, 2], dropped: [3] }).keyShares.has(3)).toBe(true);
    expect(() => clients[1].unmask({ survivors: [0, 1], dropped: [2, 3] })).toThrow(
      /client 1 refused to unmask client 2/,
    );
    expect(() => clients[1].unmask({ survivors: [0, 1, 2, 3], dropped: [] })).toThrow(/refused to unmask client 3/);
    expect(() => clients[2].unmask({ survivors: [0, 1], dropped: [2] })).toThrow(/does not list this client/);
  });

  it("a late client's input stays hidden from a server that calls it dropped; splitting requests gets too few seed shares", async () => {
    const n = 200;
    const { clients, roster } = await setup(5, 3);
    const late = await clients[2].maskedInput(vector(3, n));
    const honest = clients.filter((c) => c.id !== 2);
    const masked = await maskAll(honest, n);
    // The server claims client 2 dropped: it gets client 2's masking key from the survivors' key shares.
    const responses = ask(honest.slice(0, 3), { survivors: [0, 1, 3, 4], dropped: [2] });
    const d = shamirCombine([...responses.values()].map((r) => r.keyShares.get(2)!));
    const stripped = await stripPairMasks(late, 2, d, roster);
    // What is left is the input under its self-mask: no value is the input's, nor a constant shift of it.
    const input = Array.from(vector(3, n), fixed);
    expect(stripped.filter((v, j) => v === input[j]).length).toBe(0);
    expect(new Set(Array.from(stripped, (v, j) => (v - input[j] + RING) % RING)).size).toBe(n);
    // The self-mask is all that hides it: with client 2's private seed (read here, never sent) it comes out exactly.
    const selfMask = await aesCtrMask((clients[2] as unknown as { seed: Uint8Array }).seed, n);
    expect(Array.from(stripped, (v, j) => (v - selfMask[j] + RING) % RING)).toEqual(input);
    // Asking the same survivors for client 2's seed share is refused.
    for (const c of honest.slice(0, 3))
      expect(() => c.unmask({ survivors: [0, 1, 2, 3, 4], dropped: [] })).toThrow(SecureAggregationRefusedError);
    // A server telling the other two that 2 survived gets 2 seed shares (client 4's and 2's own): below t = 3.
    const seeds = ask([clients[4], clients[2]], { survivors: [0, 1, 2, 3, 4], dropped: [] });
    expect(() => shamirCombine([...seeds.values()].map((r) => r.seedShares.get(2)!))).toThrow(/needs 3 shares, got 2/);
    // The honest survivors' own sum still comes out.
    const sum = await unmaskSum(masked, responses, roster, 3);
    const plain = plainSum([0, 1, 3, 4], n);
    for (let j = 0; j < n; j++) expect(Math.abs(sum[j] - plain[j])).toBeLessThan(4 * 2 ** -24);
  });

  it('refuses share messages that do not authenticate, and values past its fixed-point range', async () => {
    const { clients, roster, inbox } = await setup(3, 2);
    const message = inbox.get(1)!.get(0)!.slice();
    message[20] ^= 1;
    await expect(clients[1].receiveShares(new Map([[0, message]]), roster)).rejects.toThrow(
      /client 1 refused the shares of client 0: it does not authenticate/,
    );
    // A message for client 1 handed to client 2 does not decrypt there.
    await expect(clients[2].receiveShares(new Map([[0, inbox.get(1)!.get(0)!]]), roster)).rejects.toThrow(
      SecureAggregationRefusedError,
    );
    await expect(clients[0].maskedInput([2 ** 24])).rejects.toThrow(/range/);
    const fresh = await SecureAggregationClient.create(7);
    await expect(fresh.maskedInput([1])).rejects.toThrow(/before shareKeys/);
  });
});

describe('update compression', () => {
  const values = vector(9, 2000);

  it('int8 is 4x smaller with error at most half a step; top-k keeps the largest values exactly', () => {
    const int8 = encodeUpdate(values, { quantize: 'int8' });
    expect(int8.length).toBe(1 + 4 + 4 + 2000);
    const step = Math.max(...values.map(Math.abs)) / 127;
    decodeUpdate(int8, 2000).forEach((v, i) => expect(Math.abs(v - values[i])).toBeLessThanOrEqual(step / 2 + 1e-6));

    const top = encodeUpdate(values, { topK: 0.1 });
    expect(top.length).toBe(1 + 4 + 4 + 200 * 8);
    const decoded = decodeUpdate(top, 2000);
    const threshold = [...values].map(Math.abs).sort((a, b) => b - a)[199];
    decoded.forEach((v, i) =>
      Math.abs(values[i]) >= threshold ? expect(v).toBeCloseTo(values[i], 4) : expect(v).toBe(0),
    );
    expect(encodeUpdate(values, { topK: 0.1, quantize: 'int8' }).length).toBe(1 + 4 + 4 + 200 * 4 + 4 + 200);
  });

  it('rejects malformed bytes with a clear error', () => {
    const good = encodeUpdate(values, { topK: 0.05 });
    expect(() => decodeUpdate(good.subarray(0, 20), 2000)).toThrow(/bytes/);
    expect(() => decodeUpdate(good, 1999)).toThrow(/holds 2000 values; the model has 1999/);
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(9, 5000, true);
    expect(() => decodeUpdate(bad, 2000)).toThrow(/position 5000/);
    expect(() => encodeUpdate(values, { topK: 0 })).toThrow(/topK/);
  });
});
