// The browser side of tests/federated-browser.test.ts: @edgeml/federated and @edgeml/distill
// bundled by Vite as an app would bundle them. A FederatedClient loads the global weights the
// test sends, trains on the samples it sends, and hands back its update and accuracies.
import { decodeModel } from '@edgeml/core';
import { TensorDataset, TrainableModel } from '@edgeml/distill';
import { FederatedClient, type LocalTrainingOptions } from '@edgeml/federated';
import { fromPlain, toPlain, type PlainTensor } from '../../support/plain-tensor.js';

interface Page {
  document: { getElementById(id: string): { textContent: string | null } };
  edgeml?: unknown;
}
const page = globalThis as unknown as Page;

async function fit(
  modelUrl: string,
  global: Record<string, PlainTensor>,
  samples: Record<string, PlainTensor>,
  labels: number[],
  options: LocalTrainingOptions,
) {
  const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
  const data = new TensorDataset(fromPlain(samples), Int32Array.from(labels));
  const client = new FederatedClient(await TrainableModel.fromModel(decodeModel(bytes)), data);
  const before = await client.evaluate(fromPlain(global));
  const update = await client.fit(fromPlain(global), options);
  const after = await client.evaluate();
  page.document.getElementById('status').textContent =
    `trained on ${update.sampleCount} samples: accuracy ${before.accuracy.toFixed(3)} → ${after.accuracy.toFixed(3)}`;
  return {
    weights: toPlain(update.weights),
    delta: toPlain(update.delta),
    sampleCount: update.sampleCount,
    loss: update.metrics.loss,
    accuracyBefore: before.accuracy,
    accuracyAfter: after.accuracy,
  };
}

page.edgeml = { fit };
page.document.getElementById('status').textContent = 'ready';
