/**
 * @edgeml/runtime-tflite in a real headless Chromium: a page bundled by Vite loads the backend
 * with TFLite's wasm interpreter served beside it, and runs .tflite files exported (here, in
 * Node) from real models of the suite: a CNN classifier, openWakeWord hey-jarvis (an IF with
 * two branch subgraphs) and Silero VAD v5 (sr fixed, its LSTM unrolled). Each output is
 * compared with onnxruntime-node's on the ONNX model, run by this test on the same inputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { Tensor, decodeModel } from '@edgeml/core';
import { exportTflite, type TfliteExportOptions } from '@edgeml/tflite';
import { buildTestPage, launchChromium, openTestPage } from './support/browser.js';
import { fromPlain, toPlain, type PlainTensor } from './support/plain-tensor.js';
import { serveStatic } from './support/static-server.js';
import { loadSuite } from './support/real-models.js';
import { SampleFactory } from './support/real-model-data.js';
import { onOnnxruntime, relativeDiffs } from './support/tflite-oracle.js';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, '.tmp', 'tflite-page');
const MODELS = path.join(ROOT, '.tmp', 'tflite-page-models');
const ARTIFACTS = path.join(ROOT, '.tmp', 'artifacts');
const TFLITE_WASM = path.dirname(
  createRequire(path.join(ROOT, 'packages', 'runtime-tflite', 'package.json')).resolve(
    '@tensorflow/tfjs-tflite/wasm/tflite_web_api_cc_simd.js',
  ),
);

let server: Awaited<ReturnType<typeof serveStatic>>;
let browser: Browser;

beforeAll(async () => {
  fs.mkdirSync(MODELS, { recursive: true });
  [, server, browser] = await Promise.all([
    buildTestPage(path.join(__dirname, 'browser', 'tflite-page'), OUT),
    serveStatic({ '/': OUT, '/tflite/': TFLITE_WASM, '/models/': MODELS }),
    launchChromium(),
  ]);
}, 180_000);

afterAll(() => Promise.all([browser?.close(), server?.close()]));

describe('runtime-tflite in Chromium', () => {
  it('runs .tflite files exported from real models (CNN, IF, LSTM); outputs match onnxruntime-node', async () => {
    const suite = loadSuite();
    const factory = new SampleFactory({
      wavFile: suite.files['lena-wav'],
      melspectrogramModel: suite.files['oww-melspectrogram'],
      embeddingModel: suite.files['oww-embedding'],
    });
    const page = await openTestPage(browser, `${server.url}/`);
    const status = await page.evaluate(() => (globalThis as unknown as { edgeml: { initError?: string } }).edgeml);
    expect(status.initError).toBeUndefined();
    const sr = Tensor.from('int64', [], [16000]);
    const cases: [string, Omit<TfliteExportOptions, 'shapes'>][] = [
      ['ppocr-mobile-v2-cls', {}],
      ['oww-hey-jarvis', {}],
      ['silero-vad-v5', { specialize: { sr } }],
    ];
    for (const [id, options] of cases) {
      const entry = suite.models.find((m) => m.id === id)!;
      const model = decodeModel(fs.readFileSync(suite.files[id]));
      const fixed = new Set(Object.keys(options.specialize ?? {}));
      const shapes = Object.fromEntries(
        Object.entries(entry.inputs)
          .filter(([name]) => !fixed.has(name))
          .map(([name, r]) => [name, r.shape]),
      );
      const { bytes, report } = await exportTflite(model, { ...options, shapes });
      fs.writeFileSync(path.join(MODELS, `${id}.tflite`), bytes);
      const [sample] = await factory.samples(entry.inputs);
      const feeds = Object.fromEntries(Object.entries(sample).filter(([name]) => !fixed.has(name)));
      const web = await page.evaluate(
        ([url, f]) =>
          (
            globalThis as unknown as { edgeml: { run(u: string, f: unknown): Promise<Record<string, PlainTensor>> } }
          ).edgeml.run(url, f),
        [`/models/${id}.tflite`, toPlain(feeds)] as const,
      );
      const want = await onOnnxruntime(model, sample);
      expect(Object.keys(web).sort(), id).toEqual(report.outputs.map((o) => o.name).sort());
      const diffs = relativeDiffs(want, fromPlain(web));
      expect(Math.max(...Object.values(diffs)), id).toBeLessThanOrEqual(1e-4);
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'runtime-tflite-browser.png'), fullPage: true });
    // The interpreter came from this server: its wasm file was fetched, nothing from a CDN.
    expect(server.requests).toContain('/tflite/tflite_web_api_cc_simd.wasm');
    await page.close();
  }, 300_000);
});
