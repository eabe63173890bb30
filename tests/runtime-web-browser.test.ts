/**
 * @edgeml/runtime-web in a real headless Chromium: a page bundled by Vite loads it, runs real
 * models on wasm (threads, since the server makes the page cross-origin isolated), and its
 * outputs are compared with onnxruntime-node's on the same inputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { Tensor } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { buildTestPage, launchChromium, openTestPage } from './support/browser.js';
import { toPlain, type PlainTensor } from './support/plain-tensor.js';
import { serveStatic } from './support/static-server.js';
import { SILERO_VAD, sileroFeeds } from './support/models.js';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, '.tmp', 'web-page');
const ARTIFACTS = path.join(ROOT, '.tmp', 'artifacts');
const ORT_WEB_DIST = path.dirname(
  createRequire(path.join(ROOT, 'packages', 'runtime-web', 'package.json')).resolve(
    'onnxruntime-web/ort-wasm-simd-threaded.wasm',
  ),
);
const MODELS = path.join(ROOT, '.tmp', 'web-models');

let server: Awaited<ReturnType<typeof serveStatic>>;
let browser: Browser;

function openPage(query = ''): Promise<Page> {
  return openTestPage(browser, `${server.url}/${query}`, { width: 1100, height: 700 });
}

beforeAll(async () => {
  await buildTestPage(path.join(__dirname, 'browser', 'web-page'), OUT);
  fs.mkdirSync(MODELS, { recursive: true });
  fs.copyFileSync(path.join(__dirname, 'fixtures', 'mnist-cnn.onnx'), path.join(MODELS, 'mnist-cnn.onnx'));
  fs.copyFileSync(SILERO_VAD, path.join(MODELS, 'silero_vad.onnx'));
  server = await serveStatic({ '/': OUT, '/ort/': ORT_WEB_DIST, '/models/': MODELS });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('runtime-web in Chromium', () => {
  it('runs MNIST and Silero VAD on wasm with threads; outputs match onnxruntime-node', async () => {
    const page = await openPage();
    const threads = await page.evaluate(
      () => (globalThis as unknown as { edgeml: { threads: number } }).edgeml.threads,
    );
    expect(threads).toBe(2);
    const node = new NodeBackend();
    const image = Tensor.from(
      'float32',
      [1, 1, 28, 28],
      Float32Array.from({ length: 784 }, (_, i) => ((i * 37) % 255) / 255),
    );
    const cases: [string, string, Record<string, Tensor>][] = [
      ['/models/mnist-cnn.onnx', path.join(MODELS, 'mnist-cnn.onnx'), { image }],
      ['/models/silero_vad.onnx', SILERO_VAD, sileroFeeds(2)],
    ];
    for (const [url, file, feeds] of cases) {
      const web = await page.evaluate(
        ([u, f]) =>
          (
            globalThis as unknown as {
              edgeml: {
                run(
                  u: string,
                  f: unknown,
                ): Promise<{ outputs: Record<string, PlainTensor>; executionProviders: string[] }>;
              };
            }
          ).edgeml.run(u, f),
        [url, toPlain(feeds)] as const,
      );
      expect(web.executionProviders).toEqual(['wasm']);
      const session = await node.createSession(file);
      const expected = await session.run(feeds);
      await session.dispose();
      expect(Object.keys(web.outputs).sort()).toEqual(Object.keys(expected).sort());
      for (const [name, t] of Object.entries(expected)) {
        expect(web.outputs[name].dims).toEqual([...t.dims]);
        const want = t.toFloat64();
        const diff = Math.max(...web.outputs[name].data.map((v, i) => Math.abs(v - want[i])));
        expect(diff, `${url} ${name}`).toBeLessThan(1e-5);
      }
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'runtime-web-browser.png'), fullPage: true });
    // Everything came from this server: nothing fetched from a CDN.
    expect(server.requests.some((r) => r.startsWith('/ort/') && r.endsWith('.wasm'))).toBe(true);
    await page.close();
  });

  it('reports a model URL that is not there, and webgpu/webnn the browser lacks, clearly', async () => {
    const page = await openPage();
    const missing = await page.evaluate(() =>
      (
        globalThis as unknown as { edgeml: { failure(u: string): Promise<{ name: string; message: string }> } }
      ).edgeml.failure('/models/nope.onnx'),
    );
    expect(missing).toEqual({
      name: 'BackendError',
      message: expect.stringMatching(/could not fetch model '\/models\/nope.onnx': HTTP 404/),
    });
    const fallback = await page.evaluate(() =>
      (
        globalThis as unknown as {
          edgeml: { run(u: string, f: unknown, eps: string[]): Promise<{ executionProviders: string[] }> };
        }
      ).edgeml.run(
        '/models/mnist-cnn.onnx',
        { image: { dtype: 'float32', dims: [1, 1, 28, 28], data: new Array(784).fill(0) } },
        ['webnn', 'wasm'],
      ),
    );
    expect(fallback.executionProviders).toEqual(['wasm']);
    await page.close();
  });

  it('says where it looked when the wasm files are missing', async () => {
    const page = await openPage('?wasm=/missing/');
    const error = await page.evaluate(
      () => (globalThis as unknown as { edgeml: { initError?: string } }).edgeml.initError,
    );
    expect(error).toMatch(
      /could not start its wasm runtime \(files loaded from "\/missing\/"\).*Serve onnxruntime-web's dist\/ort-wasm-\*\.wasm/,
    );
    await page.close();
  });
});
