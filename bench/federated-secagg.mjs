/**
 * What secure aggregation (SecAgg: pairwise and self masks, Shamir-shared keys) costs each
 * client in bytes, on MNIST's MLP 784-64-10 (50,890 weights): N clients, 2 rounds of 1 local
 * epoch, one client dropping in round 2 after the key exchange, against plain FedAvg under the
 * same dropout (the models must agree to fixed-point rounding). Run: node bench/federated-secagg.mjs
 * (after pnpm build); CLIENTS=5,10,20 by default, TRAIN_PER_DIGIT=100.
 */
import { buildCnn, loadMnist } from '@edgeml/distill';
import { flattenWeights, simulate } from '@edgeml/federated';

const SHAPES = { image: [null, 1, 28, 28] };
const { train } = await loadMnist({ trainPerDigit: Number(process.env.TRAIN_PER_DIGIT ?? 100) });
const counts = (process.env.CLIENTS ?? '5,10,20').split(',').map(Number);
const mlp = () => buildCnn({ input: [1, 28, 28], convs: [], hidden: [64], classes: 10, seed: 3 });

console.log(
  '| clients | threshold | round | dense float32 upload | SecAgg upload | extra | of which protocol messages | max |secure − plain| |',
);
for (const clients of counts) {
  const base = {
    model: mlp(),
    train: train.fitTo(SHAPES),
    clients,
    rounds: 2,
    local: { epochs: 1, batchSize: 32, learningRate: 3e-3 },
    faults: (round, client) => (round === 2 && client === 0 ? 'drop' : undefined),
  };
  const plain = await simulate(base);
  const t0 = performance.now();
  const secure = await simulate({ ...base, secureAggregation: true });
  const seconds = (performance.now() - t0) / 1000;
  const a = flattenWeights(plain.weights).values,
    b = flattenWeights(secure.weights).values;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  for (const r of secure.rounds) {
    const s = r.secureAggregation;
    const dense = r.bytesDense / r.completed.length;
    console.log(
      `| ${clients} | ${s.threshold} | ${r.round} (${r.completed.length} of ${r.selected.length} complete) | ${dense} B | ` +
        `${Math.round(r.bytesSent / r.completed.length)} B | ${Math.round(s.extraBytesPerClient)} B (${((100 * s.extraBytesPerClient) / dense).toFixed(1)} %) | ` +
        `${Math.round(s.protocolBytesPerClient)} B | ${r.round === 2 ? maxDiff.toExponential(1) : ''} |`,
    );
  }
  console.log(`(${clients} clients: secure run ${seconds.toFixed(0)} s with training, 2 shared cores)`);
}
