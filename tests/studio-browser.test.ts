/**
 * EdgeML Studio (apps/studio) in a real headless Chromium: the built site, served cross-origin
 * isolated from loopback, driven through its accessible names as a person would use it. What
 * the page reports is checked against onnxruntime-node running the file the page downloaded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, createServer } from 'vite';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { Tensor, encodeNpy, measureFidelity } from '@edgeml/core';
import { makeFeeds } from '@edgeml/benchmark';
import { NodeBackend } from '@edgeml/runtime-node';
import { launchChromium } from './support/browser.js';
import { REDUCE_RANGE } from './support/models.js';
import { serveStatic } from './support/static-server.js';
import { checkModels } from './support/onnx-checker.js';
import { PPOCR_V4_DET } from './support/model-cache.js';
import { SampleFactory } from './support/real-model-data.js';
import { inspectModel } from '../packages/cli/src/commands/inspect.js';

const ROOT = path.join(__dirname, '..');
const APP = path.join(ROOT, 'apps', 'studio');
const OUT = path.join(ROOT, '.tmp', 'studio-dist');
const ARTIFACTS = path.join(ROOT, '.tmp', 'artifacts');
const CALIBRATION = path.join(ROOT, '.tmp', 'studio-calibration');
const MNIST = path.join(__dirname, 'fixtures', 'mnist-cnn.onnx');
const AGREEMENT_SAMPLES = 8;

let server: Awaited<ReturnType<typeof serveStatic>>;
let browser: Browser;

/** Real MNIST digits (the `mnist` package's data) written as PNG files, as a user would have them. */
function digit(d: number): number[] {
  return (createRequire(import.meta.url)(`mnist/src/digits/${d}.json`) as { data: number[] }).data.slice(0, 784);
}

function writeDigitPngs(): string[] {
  fs.mkdirSync(CALIBRATION, { recursive: true });
  return Array.from({ length: 10 }, (_, d) => {
    const flat = digit(d);
    const png = new PNG({ width: 28, height: 28 });
    for (let i = 0; i < 784; i++) {
      const v = Math.round(flat[i] * 255);
      png.data.set([v, v, v, 255], i * 4);
    }
    const file = path.join(CALIBRATION, `digit-${d}.png`);
    fs.writeFileSync(file, PNG.sync.write(png));
    return file;
  });
}

async function openStudio(url = `${server.url}/`): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[studio page] ${m.text()}`);
  });
  await page.goto(url);
  return page;
}

/** Load a model through the file input and wait for Inspect. */
async function loadModel(page: Page, file: string): Promise<void> {
  await page.getByLabel('Model file').setInputFiles(file);
  await expect.poll(() => page.locator('#status').textContent(), { timeout: 60_000 }).toMatch(/: done\.$/);
}

/** Wait for the step to end: its status line, followed by the error shown when it failed. */
async function waitIdle(page: Page, timeout = 120_000): Promise<string> {
  await page.locator('#busy').waitFor({ state: 'hidden', timeout });
  const status = (await page.locator('#status').textContent()) ?? '';
  return status.endsWith('failed.') ? `${status} ${await page.getByRole('alert').textContent()}` : status;
}

/** The agreement the page measures, measured again on onnxruntime-node: the same seeded inputs (benchmark's seeds 1…N). */
async function nodeAgreement(originalFile: string, candidateFile: string) {
  const node = new NodeBackend();
  const original = await node.createSession(originalFile);
  const candidate = await node.createSession(candidateFile);
  const feeds = Array.from({ length: AGREEMENT_SAMPLES }, (_, k) => makeFeeds(original.inputs, { seed: 1 + k }));
  const run = async (s: typeof original) => {
    const out: Record<string, Tensor>[] = [];
    for (const f of feeds) out.push(await s.run(f));
    return out;
  };
  const [fidelity] = measureFidelity(await run(original), await run(candidate));
  await original.dispose();
  await candidate.dispose();
  return fidelity;
}

beforeAll(async () => {
  await build({
    configFile: path.join(APP, 'vite.config.ts'),
    logLevel: 'error',
    build: { outDir: OUT, emptyOutDir: true },
  });
  server = await serveStatic({ '/': OUT });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('EdgeML Studio in Chromium', () => {
  it('loads MNIST, quantizes it (static int8 on dropped PNGs), benchmarks both, downloads what onnxruntime-node confirms', async () => {
    const page = await openStudio();
    const outside: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:'))
        outside.push(r.url());
    });
    await loadModel(page, MNIST);
    const inspect = page.locator('#inspect');
    await expect.poll(() => inspect.textContent()).toContain('image float32[batch,1,28,28]');
    expect(await inspect.textContent()).toMatch(/MACs[\d,]+ \(dynamic dimensions at 1\)/);
    expect(await page.getByRole('table', { name: 'Op histogram' }).getByRole('row').count()).toBeGreaterThan(3);

    await page.getByLabel('Quantization').selectOption('static int8');
    await page.getByLabel('Calibration files').setInputFiles(writeDigitPngs());
    // The download is checked on onnxruntime-node: on an x86 CPU without VNNI it needs 7-bit weights.
    if (REDUCE_RANGE) await page.getByLabel('7-bit weights (for x86 CPUs without VNNI)').check();
    await page.getByRole('button', { name: 'Quantize' }).click();
    expect(await waitIdle(page)).toBe('Quantizing (static int8): done.');
    const table = page.getByRole('table', { name: 'Comparison' });
    expect(await table.locator('tbody tr').count()).toBe(2);

    await page.getByLabel('Runs').fill('20');
    await page.getByRole('button', { name: 'Benchmark' }).click();
    expect(await waitIdle(page)).toBe('Benchmarking: done.');
    const row = table.getByRole('row', { name: /^static int8/ });
    const reported = {
      maxAbsDiff: Number(await row.locator('[data-field=max-abs-diff]').textContent()),
      cosine: Number(await row.locator('[data-field=cosine]').textContent()),
      top1: Number((await row.locator('[data-field=top1]').textContent())!.replace('%', '')) / 100,
    };
    expect(reported.cosine).toBeGreaterThan(0.99);
    for (const name of ['original', 'static int8'])
      expect(await table.getByRole('row', { name: new RegExp(`^${name}`) }).textContent()).toMatch(
        /real-time: (met|missed).*interactive: (met|missed).*mobile size: met.*embedded size: met/,
      );
    expect(await page.locator('#runtime').textContent()).toMatch(/wasm with [2-4] thread\(s\); WebGPU not run: /);

    // Charts: the size-vs-speed points, and the report's latency histogram + CDF per variant.
    expect(await page.locator('svg[data-chart=size-speed] circle.point').count()).toBe(2);
    const report = page.frameLocator('iframe[title="Benchmark report"]');
    expect(await report.locator('svg[data-chart=latency]').count()).toBe(2);
    expect(await report.locator('svg[data-chart=latency] polyline.cdf').count()).toBe(2);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('link', { name: 'Download' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('mnist-cnn.static-int8.onnx');
    const quantized = path.join(ARTIFACTS, 'studio-mnist-static-int8.onnx');
    await download.saveAs(quantized);
    const [reportDownload] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Save HTML report' }).click(),
    ]);
    const reportFile = path.join(ARTIFACTS, 'studio-report.html');
    await reportDownload.saveAs(reportFile);
    expect(fs.readFileSync(reportFile, 'utf8')).toMatch(/<svg data-chart="latency" data-model="static int8"/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'studio.png'), fullPage: true });

    // The downloaded file: a valid ONNX model (official checker), int8 inside, and on
    // onnxruntime-node it agrees with the original as closely as the page said, on the same seeded inputs.
    expect(checkModels([quantized]).get(quantized)).toBeNull();
    const fidelity = await nodeAgreement(MNIST, quantized);
    expect(fs.readFileSync(quantized).includes(Buffer.from('QuantizeLinear'))).toBe(true);
    expect(fidelity.cosineSimilarity).toBeCloseTo(reported.cosine, 3);
    expect(Math.abs(fidelity.maxAbsDiff - reported.maxAbsDiff)).toBeLessThan(0.05 * reported.maxAbsDiff + 1e-3);
    expect(fidelity.top1Agreement).toBeCloseTo(reported.top1, 5);
    expect(outside).toEqual([]);
    await page.close();
  }, 180_000);

  it('stays responsive while the worker benchmarks, and cancels', async () => {
    const page = await openStudio();
    await loadModel(page, MNIST);
    const runs = page.getByLabel('Runs');
    await runs.fill('1000000');
    await page.getByRole('button', { name: 'Benchmark' }).click();
    const progress = page.getByRole('progressbar', { name: 'Progress' });
    await expect.poll(async () => Number(await progress.getAttribute('value')), { timeout: 60_000 }).toBeGreaterThan(0);
    // Typing is handled (the echo follows each key) while the benchmark goes on in the worker.
    await runs.fill('');
    await runs.pressSequentially('123');
    expect(await page.locator('#runs-note').textContent()).toBe('123 timed runs per variant, interleaved');
    const before = Number(await progress.getAttribute('value'));
    await expect.poll(async () => Number(await progress.getAttribute('value'))).toBeGreaterThan(before);
    expect(await page.locator('#status').textContent()).toBe('Benchmarking…');
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(await waitIdle(page)).toBe('Benchmarking: cancelled.');
    expect(await page.getByRole('alert').textContent()).toBe('Cancelled.');
    // A fresh worker took over: the next step runs.
    await page.getByRole('button', { name: 'Simplify' }).click();
    expect(await waitIdle(page)).toBe('Simplifying: done.');
    expect(
      await page
        .getByRole('table', { name: 'Comparison' })
        .getByRole('row', { name: /^simplified/ })
        .count(),
    ).toBe(1);
    await page.close();
  }, 180_000);

  it('stays responsive during a long static int8 quantization of a real model (PP-OCRv4 det), and cancels it', async () => {
    // Text pages the real-model suite calibrates PP-OCRv4 with, as the .npy files a user would drop.
    const factory = new SampleFactory({ wavFile: '', melspectrogramModel: '', embeddingModel: '' });
    const pages = await factory.samples({
      x: {
        shape: [1, 3, 320, 320],
        data: { source: 'text-image', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      },
    });
    fs.mkdirSync(CALIBRATION, { recursive: true });
    const arrays = pages.map((sample, i) => {
      const file = path.join(CALIBRATION, `page-${i}.npy`);
      fs.writeFileSync(file, encodeNpy(sample.x));
      return file;
    });
    const page = await openStudio();
    await page.getByLabel('Input shapes').fill('x=1x3x320x320');
    await loadModel(page, PPOCR_V4_DET());
    // MACs at the shape given, as `edgeml inspect --shape x=1x3x320x320` counts them.
    const { macs } = await inspectModel(PPOCR_V4_DET(), { x: [1, 3, 320, 320] });
    expect(await page.locator('#inspect').textContent()).toContain(
      `MACs${macs!.toLocaleString('en-US')}outputs`.replace('outputs', 'inputs'),
    );
    await page.getByLabel('Quantization').selectOption('static int8');
    await page.getByLabel('Calibration files').setInputFiles(arrays);
    await page.getByRole('button', { name: 'Quantize' }).click();
    await page.locator('#busy').waitFor({ state: 'visible' });
    const runs = page.getByLabel('Runs');
    await runs.fill('');
    await runs.pressSequentially('42');
    expect(await page.locator('#runs-note').textContent()).toBe('42 timed runs per variant, interleaved');
    // The keys were handled while the worker was still quantizing.
    expect(await page.locator('#status').textContent()).toBe('Quantizing (static int8)…');
    // Calibration reports each page it has run through the float model.
    await expect
      .poll(async () => page.locator('#progress-note').textContent(), { timeout: 90_000 })
      .toMatch(new RegExp(`^[1-9]\\d* / ${arrays.length} calibration samples$`));
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(await waitIdle(page)).toBe('Quantizing (static int8): cancelled.');
    expect(await page.getByRole('table', { name: 'Comparison' }).locator('tbody tr').count()).toBe(1);
    await page.close();
  }, 120_000);

  it("shows the library's one-line errors, and the page goes on working", async () => {
    const page = await openStudio();
    const notOnnx = path.join(CALIBRATION, 'not-a-model.onnx');
    fs.mkdirSync(CALIBRATION, { recursive: true });
    fs.writeFileSync(notOnnx, 'this is text, not protobuf');
    await page.getByLabel('Model file').setInputFiles(notOnnx);
    expect(await waitIdle(page)).toMatch(/^Reading not-a-model\.onnx: failed\. .*not-a-model\.onnx/);
    await loadModel(page, MNIST);
    await page.getByLabel('Quantization').selectOption('static int8');
    await page.getByRole('button', { name: 'Quantize' }).click();
    expect(await waitIdle(page)).toBe(
      'Quantizing (static int8): failed. static int8 needs calibration data: add images or .npy files of real inputs under "Calibration files"',
    );
    await page.getByLabel('Quantization').selectOption('dynamic int8');
    await page.getByRole('button', { name: 'Quantize' }).click();
    expect(await waitIdle(page)).toBe('Quantizing (dynamic int8): done.');
    expect(await page.getByRole('alert').isHidden()).toBe(true);
    // .npy calibration files, as numpy writes them: [1, 28, 28] digits (the batch axis is added).
    const arrays = Array.from({ length: 4 }, (_, d) => {
      const file = path.join(CALIBRATION, `digit-${d}.npy`);
      fs.writeFileSync(file, encodeNpy(Tensor.from('float32', [1, 28, 28], digit(d))));
      return file;
    });
    await page.getByLabel('Quantization').selectOption('static int8');
    await page.getByLabel('Calibration files').setInputFiles(arrays);
    await page.getByRole('button', { name: 'Quantize' }).click();
    expect(await waitIdle(page)).toBe('Quantizing (static int8): done.');
    const notes = await page
      .getByRole('row', { name: /^static int8/ })
      .locator('td.notes')
      .first()
      .textContent();
    expect(notes).toMatch(/^5 nodes quantized.*output SQNR [\d.]+ dB on the calibration samples/);
    await page.close();
  }, 120_000);

  it('makes a variant with every optimization, benchmarks them all, and each download loads in onnxruntime-node', async () => {
    const page = await openStudio();
    await loadModel(page, MNIST);
    const steps: [string, () => Promise<void>][] = [
      ['Simplifying', () => page.getByRole('button', { name: 'Simplify' }).click()],
      [
        'Pruning channels',
        () =>
          page
            .getByLabel('Channel ratio')
            .fill('0.5')
            .then(() => page.getByRole('button', { name: 'Prune' }).click()),
      ],
      ...(['fp16', 'int4'] as const).map((mode): [string, () => Promise<void>] => [
        `Quantizing (${mode})`,
        () =>
          page
            .getByLabel('Quantization')
            .selectOption(mode)
            .then(() => page.getByRole('button', { name: 'Quantize' }).click()),
      ]),
    ];
    const outcomes: Record<string, string> = {};
    for (const [what, act] of steps) {
      await act();
      const status = await waitIdle(page);
      outcomes[what] = status.endsWith('done.') ? 'done' : status;
    }
    expect(outcomes).toEqual({
      Simplifying: 'done',
      'Pruning channels': 'done',
      'Quantizing (fp16)': 'done',
      'Quantizing (int4)': 'done',
    });
    const table = page.getByRole('table', { name: 'Comparison' });
    const labels = await table.locator('tbody th').allTextContents();
    expect(labels).toEqual(['original', 'simplified', 'pruned 50%', 'fp16', 'int4']);
    await page.getByLabel('Runs').fill('5');
    await page.getByRole('button', { name: 'Benchmark' }).click();
    expect(await waitIdle(page)).toBe('Benchmarking: done.');
    const node = new NodeBackend();
    for (const label of labels) {
      const row = table.getByRole('row', { name: new RegExp(`^${label}`) });
      const cosine = Number(await row.locator('[data-field=cosine]').textContent());
      // Channels pruned without fine-tuning lose most of the accuracy: only its figure is checked there.
      const least = { original: 0, simplified: 0.99999, 'pruned 50%': -1, fp16: 0.999, int4: 0.9 }[label]!;
      if (label !== 'original') expect(cosine).toBeGreaterThan(least);
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        row.getByRole('link', { name: 'Download' }).click(),
      ]);
      const file = path.join(ARTIFACTS, `studio-${download.suggestedFilename()}`);
      await download.saveAs(file);
      const session = await node.createSession(file);
      const out = await session.run(makeFeeds(session.inputs));
      expect(out.logits.dims).toEqual([1, 10]);
      await session.dispose();
    }
    await page.close();
  }, 180_000);

  it('runs from the dev server (`pnpm studio`): cross-origin isolated, wasm files served by the app', async () => {
    const dev = await createServer({
      configFile: path.join(APP, 'vite.config.ts'),
      logLevel: 'error',
      server: { port: 0, host: '127.0.0.1' },
    });
    await dev.listen();
    try {
      const page = await openStudio(dev.resolvedUrls!.local[0]);
      expect(await page.evaluate(() => (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated)).toBe(
        true,
      );
      await loadModel(page, MNIST);
      await page.getByRole('button', { name: 'Quantize' }).click();
      expect(await waitIdle(page)).toBe('Quantizing (dynamic int8): done.');
      await page.getByLabel('Runs').fill('5');
      await page.getByRole('button', { name: 'Benchmark' }).click();
      expect(await waitIdle(page)).toBe('Benchmarking: done.');
      const row = page.getByRole('table', { name: 'Comparison' }).getByRole('row', { name: /^dynamic int8/ });
      expect(Number(await row.locator('[data-field=cosine]').textContent())).toBeGreaterThan(0.99);
      await page.close();
    } finally {
      await dev.close();
    }
  }, 180_000);
});
