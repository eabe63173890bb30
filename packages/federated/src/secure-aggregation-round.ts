import { SecureAggregationAbortedError } from './secure-aggregation-errors.js';
import {
  MASKED_VALUE_BYTES,
  SecureAggregationClient,
  unmaskResponseBytes,
  unmaskSum,
  type AdvertisedKeys,
  type UnmaskResponse,
} from './secure-aggregation.js';

/** Secure aggregation's settings in {@link SimulationOptions}. */
export interface SecureAggregationOptions {
  /**
   * Shares needed to rebuild a client's self-mask seed or masking key, and so the fewest
   * clients a round can finish with. Default: a majority of the sampled clients, ⌊n/2⌋ + 1.
   */
  threshold?: number;
}

/** What secure aggregation cost and did in a round. */
export interface SecureAggregationReport {
  threshold: number;
  /** Mean over completed clients of what each uploaded beyond its dense float32 update. */
  extraBytesPerClient: number;
  /** Of that, the protocol's messages (public keys, encrypted shares, unmask answers) without the masked input. */
  protocolBytesPerClient: number;
  /** Attempts the round took: a round with fewer than `threshold` survivors is redone once with fresh keys. */
  attempts: number;
  /** True when the last attempt aborted too: the round kept the global weights. */
  aborted: boolean;
}

export const defaultThreshold = (clients: number) => Math.floor(clients / 2) + 1;

/** Public keys of two P-256 points as the server relays them (65 bytes each). */
const advertiseBytes = (keys: AdvertisedKeys) => keys.encryptionKey.length + keys.maskingKey.length;

/**
 * One round of the protocol in one process, the server's routing included. Set up (keys
 * advertised, shares exchanged) before the clients train, as SecAgg's first two steps come
 * before anyone sends an input; {@link sum} runs the masked-input and unmasking steps with
 * whoever completed.
 */
export class SecureRound {
  private constructor(
    private readonly clients: Map<number, SecureAggregationClient>,
    private readonly roster: Map<number, AdvertisedKeys>,
    readonly threshold: number,
    /** Bytes each client uploaded in setup: its keys and its share messages. */
    private readonly setupBytes: Map<number, number>,
  ) {}

  static async setup(selected: readonly number[], threshold: number): Promise<SecureRound> {
    const clients = new Map<number, SecureAggregationClient>();
    for (const id of selected) clients.set(id, await SecureAggregationClient.create(id));
    const roster = new Map([...clients].map(([id, c]) => [id, c.keys]));
    const inbox = new Map<number, Map<number, Uint8Array>>(selected.map((id) => [id, new Map()]));
    const setupBytes = new Map<number, number>();
    for (const [id, client] of clients) {
      const messages = await client.shareKeys(roster, threshold);
      let bytes = advertiseBytes(client.keys);
      for (const [to, message] of messages) {
        inbox.get(to)!.set(id, message);
        bytes += message.length;
      }
      setupBytes.set(id, bytes);
    }
    for (const [id, client] of clients) await client.receiveShares(inbox.get(id)!, roster);
    return new SecureRound(clients, roster, threshold, setupBytes);
  }

  /**
   * The weighted sum of the completed clients' vectors (the weight sum rides as the last
   * value). Throws {@link SecureAggregationAbortedError} with fewer than `threshold` of them.
   */
  async sum(vectors: ReadonlyMap<number, { values: Float64Array; weight: number }>) {
    if (vectors.size < this.threshold)
      throw new SecureAggregationAbortedError(
        `${vectors.size} clients completed the round, fewer than the secure aggregation threshold ${this.threshold}`,
        { step: 'masked-input', survivors: vectors.size, threshold: this.threshold },
      );
    const masked = new Map<number, Float64Array>();
    let length = 0;
    for (const [id, { values, weight }] of vectors) {
      const input = new Float64Array(values.length + 1);
      for (let i = 0; i < values.length; i++) input[i] = weight * values[i];
      input[values.length] = weight;
      masked.set(id, await this.clients.get(id)!.maskedInput(input));
      length = input.length;
    }
    const request = {
      survivors: [...masked.keys()],
      dropped: [...this.roster.keys()].filter((id) => !masked.has(id)),
    };
    const responses = new Map<number, UnmaskResponse>();
    for (const id of masked.keys()) responses.set(id, this.clients.get(id)!.unmask(request));
    const total = await unmaskSum(masked, responses, this.roster, this.threshold);
    let protocol = 0;
    for (const id of masked.keys()) protocol += this.setupBytes.get(id)! + unmaskResponseBytes(responses.get(id)!);
    const bytes = protocol + MASKED_VALUE_BYTES * length * masked.size;
    return {
      sum: total.subarray(0, length - 1),
      weight: total[length - 1],
      bytes,
      protocolBytesPerClient: protocol / masked.size,
      extraBytesPerClient: (bytes - 4 * (length - 1) * masked.size) / masked.size,
    };
  }
}
