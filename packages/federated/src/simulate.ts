import { InvalidArgumentError, type Model } from '@edgeml/core';
import { TrainableModel, evaluate, type Dataset, type TensorDataset } from '@edgeml/distill';
import type { SimulationCheckpoint } from './checkpoint.js';
import { FederatedClient, type FitResult, type LocalTrainingOptions } from './client.js';
import { decodeUpdate, encodeUpdate, type CompressionOptions } from './compression.js';
import { partitionDataset, type PartitionScheme } from './partition.js';
import { RandomStream } from './random.js';
import { RdpAccountant } from './rdp-accountant.js';
import { SecureAggregationAbortedError } from './secure-aggregation-errors.js';
import {
  SecureRound,
  defaultThreshold,
  type SecureAggregationOptions,
  type SecureAggregationReport,
} from './secure-aggregation-round.js';
import { flattenWeights, l2Norm, unflattenWeights, type Weights } from './weights.js';

/** Client-level differential privacy: clip each client's update, add Gaussian noise to their sum. */
export interface PrivacyOptions {
  /** L2 norm C each client's update is clipped to (client side). */
  clipNorm: number;
  /** σ: the noise added to the sum has standard deviation σ·C. */
  noiseMultiplier: number;
  /** δ the reported ε is for (default 1e-5). */
  delta?: number;
}

/** What befalls a client in a round: its reply is lost (`drop`), or never comes (`hang`, ended by the timeout). */
export type ClientFault = 'drop' | 'hang';

export interface SimulationOptions {
  /** The initial global model. */
  model: Model;
  /** Training samples, dealt to the clients by `split`. */
  train: TensorDataset;
  /** Held-out data the global model is measured on after every round. */
  test?: Dataset;
  clients: number;
  rounds: number;
  /** Share of clients sampled each round (default 1). */
  fraction?: number;
  /** Default `'iid'`. */
  split?: PartitionScheme;
  /** `'fedprox'` trains clients with the proximal term (μ from `local.proximalMu`, default 0.01). Default `'fedavg'`. */
  algorithm?: 'fedavg' | 'fedprox';
  /** Local training per round (default 1 epoch, the trainer's defaults otherwise). */
  local?: Partial<LocalTrainingOptions>;
  privacy?: PrivacyOptions;
  /**
   * Secure aggregation (Bonawitz et al. 2017: pairwise and self masks, Shamir-shared keys;
   * not combinable with `compression`). `true` takes the default threshold.
   */
  secureAggregation?: boolean | SecureAggregationOptions;
  compression?: CompressionOptions;
  /** Chance that a sampled client drops out of a round (seeded). */
  dropoutRate?: number;
  /** Faults you choose, per round (1-based) and client index. */
  faults?: (round: number, client: number) => ClientFault | undefined;
  /** A client whose reply takes longer is left out of the round. */
  clientTimeoutMs?: number;
  /** Seed of the split, the sampling, the dropouts, the noise and the local shuffles (default 1). */
  seed?: number;
  /** Continue from a checkpoint {@link simulate} passed to `onRound`. */
  resume?: SimulationCheckpoint;
  /** Called after every round with its report and a checkpoint to resume from. */
  onRound?: (report: RoundReport, checkpoint: SimulationCheckpoint) => void | Promise<void>;
}

/** One round's figures. */
export interface RoundReport {
  round: number;
  /** Client indices sampled, and what became of them. */
  selected: number[];
  completed: number[];
  dropped: number[];
  timedOut: number[];
  /** Sample-weighted mean of the clients' last local epoch loss. */
  trainLoss: number;
  /** Global model on the held-out data after the round. */
  accuracy?: number;
  loss?: number;
  /** Bytes the completed clients uploaded, and what dense float32 updates would have been. */
  bytesSent: number;
  bytesDense: number;
  /** ε spent so far, for `privacy.delta`, when differential privacy is on. */
  epsilon?: number;
  /** Threshold, extra bytes per client and attempts, when secure aggregation is on. */
  secureAggregation?: SecureAggregationReport;
}

export interface SimulationResult {
  /** The final global model. */
  model: Model;
  weights: Weights;
  rounds: RoundReport[];
  /** Samples per client. */
  clientSizes: number[];
  epsilon?: number;
  delta?: number;
}

type Outcome = { client: number; result?: FitResult; fault?: ClientFault | 'timeout' };

function checkOptions(o: SimulationOptions): void {
  const int = (v: number, name: string, min: number) => {
    if (!Number.isInteger(v) || v < min)
      throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got ${v}`, name);
  };
  int(o.clients, 'clients', 1);
  int(o.rounds, 'rounds', 1);
  const fraction = o.fraction ?? 1;
  if (!(fraction > 0 && fraction <= 1))
    throw new InvalidArgumentError(`fraction must be in (0, 1], got ${fraction}`, 'fraction');
  const rate = o.dropoutRate ?? 0;
  if (!(rate >= 0 && rate < 1))
    throw new InvalidArgumentError(`dropoutRate must be in [0, 1), got ${rate}`, 'dropoutRate');
  if (o.privacy && !(o.privacy.clipNorm > 0))
    throw new InvalidArgumentError(`clipNorm must be positive, got ${o.privacy.clipNorm}`, 'clipNorm');
  if (o.privacy && !(o.privacy.noiseMultiplier >= 0))
    throw new InvalidArgumentError(`noiseMultiplier must be ≥ 0, got ${o.privacy.noiseMultiplier}`, 'noiseMultiplier');
  if (o.secureAggregation && o.compression && (o.compression.topK !== undefined || o.compression.quantize))
    throw new InvalidArgumentError(
      'secure aggregation sums fixed-point values and cannot carry compressed updates: drop one of the two',
      'compression',
    );
  const threshold = typeof o.secureAggregation === 'object' ? o.secureAggregation.threshold : undefined;
  const sampled = Math.max(1, Math.round(fraction * o.clients));
  if (threshold !== undefined && !(Number.isInteger(threshold) && threshold >= 1 && threshold <= sampled))
    throw new InvalidArgumentError(
      `secureAggregation.threshold must be an integer in [1, ${sampled}] (the clients sampled a round), got ${threshold}`,
      'threshold',
    );
  if (o.resume && !(o.resume.round >= 0 && o.resume.round <= o.rounds))
    throw new InvalidArgumentError(`the checkpoint is at round ${o.resume.round} of ${o.rounds}`, 'resume');
}

function timeout<T>(work: Promise<T>, ms: number | undefined): Promise<T | 'timeout'> {
  if (ms === undefined) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  return Promise.race([work, expiry]).finally(() => clearTimeout(timer));
}

/** The clipped (with DP) update vector and the weight FedAvg gives it. */
function clientVector(
  result: FitResult,
  privacy: PrivacyOptions | undefined,
): { values: Float64Array; weight: number } {
  const { values } = flattenWeights(result.delta);
  if (!privacy) return { values, weight: result.sampleCount };
  const norm = l2Norm(values);
  if (norm > privacy.clipNorm) for (let i = 0; i < values.length; i++) values[i] *= privacy.clipNorm / norm;
  // Client-level DP bounds each client's influence: equal weights, as DP-FedAvg.
  return { values, weight: 1 };
}

interface SimulationState {
  options: SimulationOptions;
  clients: FederatedClient[];
  /** Fits still running past their timeout: such a client sits out until it is done. */
  busy: Set<number>;
  local: LocalTrainingOptions;
}

async function trainSelected(
  state: SimulationState,
  round: number,
  selected: number[],
  global: Weights,
  rand: RandomStream,
): Promise<Outcome[]> {
  const { options, clients, busy, local } = state;
  const work = selected.map(async (client): Promise<Outcome> => {
    const fault =
      options.faults?.(round, client) ?? (rand.next() < (options.dropoutRate ?? 0) ? ('drop' as const) : undefined);
    if (busy.has(client)) return { client, fault: 'timeout' };
    busy.add(client);
    const fit = clients[client]
      .fit(global, { ...local, seed: (options.seed ?? 1) * 7919 + round * 101 + client })
      .finally(() => busy.delete(client));
    // A lost reply: the client trained, the server never hears back.
    const reply = fault === 'hang' ? fit.then(() => new Promise<never>(() => {})) : fit;
    const result = await timeout(reply, options.clientTimeoutMs);
    if (result === 'timeout') return { client, fault: 'timeout' };
    return fault === 'drop' ? { client, fault } : { client, result };
  });
  return Promise.all(work);
}

/** Sum of weighted updates and of weights, in the clear (with compression applied on the way). */
function plainSum(
  vectors: Map<number, { values: Float64Array; weight: number }>,
  compression: CompressionOptions | undefined,
): { sum: Float64Array; weight: number; bytes: number } {
  let sum: Float64Array | undefined,
    weight = 0,
    bytes = 0;
  for (const { values, weight: w } of vectors.values()) {
    let received = values;
    if (compression) {
      const encoded = encodeUpdate(values, compression);
      bytes += encoded.length;
      received = decodeUpdate(encoded, values.length);
    } else bytes += 4 * values.length;
    sum ??= new Float64Array(values.length);
    for (let i = 0; i < received.length; i++) sum[i] += w * received[i];
    weight += w;
  }
  return { sum: sum!, weight, bytes };
}

/** Rounds with fewer survivors than secure aggregation's threshold are tried this many times. */
const SECURE_ATTEMPTS = 2;

function roundReport(round: number, selected: number[], outcomes: Outcome[]): Omit<RoundReport, 'accuracy' | 'loss'> {
  const done = outcomes.filter((o) => o.result);
  const samples = done.reduce((n, o) => n + o.result!.sampleCount, 0);
  return {
    round,
    selected,
    completed: done.map((o) => o.client),
    dropped: outcomes.filter((o) => o.fault === 'drop' || o.fault === 'hang').map((o) => o.client),
    timedOut: outcomes.filter((o) => o.fault === 'timeout').map((o) => o.client),
    trainLoss: done.length ? done.reduce((s, o) => s + o.result!.metrics.loss * o.result!.sampleCount, 0) / samples : 0,
    bytesSent: 0,
    bytesDense: 0,
  };
}

async function runRound(
  state: SimulationState,
  round: number,
  global: Weights,
  accountant: RdpAccountant | undefined,
): Promise<{ weights: Weights; report: Omit<RoundReport, 'accuracy' | 'loss' | 'epsilon'> }> {
  const { options } = state;
  const rand = new RandomStream((options.seed ?? 1) * 1_000_003 + round);
  const count = Math.max(1, Math.round((options.fraction ?? 1) * options.clients));
  const selected = rand.choose(options.clients, count).sort((a, b) => a - b);
  if (accountant) accountant.step(count / options.clients, options.privacy!.noiseMultiplier);
  const secureOptions = options.secureAggregation === true ? {} : options.secureAggregation || undefined;
  const threshold = secureOptions && (secureOptions.threshold ?? defaultThreshold(count));
  for (let attempt = 1; ; attempt++) {
    // SecAgg's first steps: keys advertised and shared before anyone trains.
    const secure = threshold ? await SecureRound.setup(selected, threshold) : undefined;
    const outcomes = await trainSelected(state, round, selected, global, rand);
    const report = roundReport(round, selected, outcomes);
    const done = outcomes.filter((o) => o.result);
    if (!done.length && !secure) return { weights: global, report };
    const vectors = new Map(done.map((o) => [o.client, clientVector(o.result!, options.privacy)]));
    let aggregate: {
      sum: Float64Array;
      weight: number;
      bytes: number;
      extraBytesPerClient?: number;
      protocolBytesPerClient?: number;
    };
    try {
      aggregate = secure ? await secure.sum(vectors) : plainSum(vectors, options.compression);
    } catch (e) {
      if (!(e instanceof SecureAggregationAbortedError)) throw e;
      const failed = { threshold: threshold!, extraBytesPerClient: 0, protocolBytesPerClient: 0 };
      report.secureAggregation = { ...failed, attempts: attempt, aborted: true };
      // Redone once (fresh keys, fresh dropout draws); a second failure keeps the global weights, so the run goes on.
      if (attempt < SECURE_ATTEMPTS) continue;
      return { weights: global, report };
    }
    const { sum, weight, bytes } = aggregate;
    if (secure)
      report.secureAggregation = {
        threshold: threshold!,
        extraBytesPerClient: aggregate.extraBytesPerClient!,
        protocolBytesPerClient: aggregate.protocolBytesPerClient!,
        attempts: attempt,
        aborted: false,
      };
    if (options.privacy) {
      const std = options.privacy.noiseMultiplier * options.privacy.clipNorm;
      for (let i = 0; i < sum.length; i++) sum[i] += std * rand.normal();
    }
    const { values: base } = flattenWeights(global);
    for (let i = 0; i < base.length; i++) base[i] += sum[i] / weight;
    report.bytesSent = bytes;
    report.bytesDense = 4 * base.length * done.length;
    return { weights: unflattenWeights(base, global), report };
  }
}

/**
 * Federated training in one process: the training data is dealt to `clients` simulated
 * clients (IID or Dirichlet non-IID), and each round samples a share of them, sends them the
 * global weights, trains them locally (FedAvg, or FedProx with its proximal term), and averages
 * their updates weighted by sample count into the next global model. Clients that drop out or
 * time out are left out of that round and return in later ones. Optional: client-level
 * differential privacy with ε reported by an RDP accountant, secure aggregation (SecAgg:
 * a round with fewer survivors than its threshold is redone once, then skipped), compressed
 * updates. Deterministic for a seed, and resumable from the checkpoint
 * every round hands to `onRound`.
 *
 * @example
 * ```ts
 * const { train, test } = await loadMnist();
 * const result = await simulate({
 *   model: buildCnn({ input: [1, 28, 28], convs: [], hidden: [64], classes: 10 }),
 *   train: train.fitTo({ image: [null, 1, 28, 28] }),
 *   test: test.fitTo({ image: [null, 1, 28, 28] }),
 *   clients: 10, rounds: 10, split: { dirichlet: 0.5 },
 * });
 * console.log(result.rounds.at(-1)?.accuracy);
 * ```
 */
export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  checkOptions(options);
  const parts = partitionDataset(options.train, {
    clients: options.clients,
    scheme: options.split,
    seed: options.seed ?? 1,
  });
  const server = await TrainableModel.fromModel(options.model);
  const clients = await Promise.all(
    parts.map(async (data) => new FederatedClient(await TrainableModel.fromModel(options.model), data)),
  );
  const local: LocalTrainingOptions = {
    epochs: 1,
    ...options.local,
    proximalMu: options.algorithm === 'fedprox' ? (options.local?.proximalMu ?? 0.01) : 0,
  };
  const state: SimulationState = { options, clients, busy: new Set(), local };
  const accountant = options.privacy ? new RdpAccountant() : undefined;
  const delta = options.privacy ? (options.privacy.delta ?? 1e-5) : undefined;
  let global = options.resume?.weights ?? server.getWeights();
  const rounds: RoundReport[] = [...(options.resume?.rounds ?? [])];
  if (options.resume?.rdp) accountant?.restore(options.resume.rdp);
  try {
    for (let round = (options.resume?.round ?? 0) + 1; round <= options.rounds; round++) {
      const next = await runRound(state, round, global, accountant);
      global = next.weights;
      const report: RoundReport = { ...next.report };
      if (options.test) {
        server.setWeights(global);
        Object.assign(report, await evaluate(server, options.test));
      }
      if (accountant) report.epsilon = accountant.epsilon(delta!).epsilon;
      rounds.push(report);
      await options.onRound?.(report, {
        round,
        weights: global,
        rounds: [...rounds],
        rdp: accountant && [...accountant.rdp],
      });
    }
    server.setWeights(global);
    return {
      model: server.toModel(),
      weights: global,
      rounds,
      clientSizes: parts.map((p) => p.size),
      epsilon: accountant?.epsilon(delta!).epsilon,
      delta,
    };
  } finally {
    server.dispose();
    // A client still running past its timeout frees its model when it finishes.
    clients.forEach((c, i) => {
      if (!state.busy.has(i)) c.model.dispose();
    });
  }
}
