/** The HTML report of `edgeml bench`, opened in a real headless Chromium. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../packages/cli/src/testing/run-cli.js';
import { defaultModelPath } from '../packages/cli/src/default-model.js';
import { launchChromium } from './support/browser.js';

/** The SVG DOM this test reads (the tests compile without the DOM library). */
type Polyline = { points: { numberOfItems: number }; getTotalLength(): number };

const MNIST = path.join(__dirname, 'fixtures', 'mnist-cnn.onnx');
const ARTIFACTS = path.join(__dirname, '..', '.tmp', 'artifacts');

describe('bench HTML report in Chromium', () => {
  it('draws a latency histogram and CDF per candidate and the op profile, offline', async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const html = path.join(ARTIFACTS, 'bench-report.html');
    const r = await runCli([
      'bench',
      MNIST,
      defaultModelPath(),
      '--shape',
      'input=1x512',
      '--fill',
      'sr=16000',
      '--runs',
      '30',
      '--profile',
      '--html',
      html,
      '--json',
    ]);
    // Silero cannot take MNIST's image input: the comparison must refuse, naming the candidate.
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no input 'input'|does not|missing input/);

    const ok = await runCli(['bench', MNIST, '--baseline', MNIST, '--runs', '40', '--profile', '--html', html]);
    expect(ok.code).toBe(0);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const requests: string[] = [];
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(pathToFileURL(html).href);
      const charts = await page.$$eval('svg[data-chart]', (svgs) =>
        svgs.map((s) => {
          const box = s.getBoundingClientRect();
          const bars = [...s.querySelectorAll('rect.bar')].map((b) => b.getBoundingClientRect());
          const cdf = s.querySelector('polyline.cdf');
          return {
            kind: s.getAttribute('data-chart'),
            width: box.width,
            height: box.height,
            drawnBars: bars.filter((b) => b.width > 0 && b.height > 0).length,
            cdfPoints: cdf ? (cdf as unknown as Polyline).points.numberOfItems : 0,
            cdfLength: cdf ? (cdf as unknown as Polyline).getTotalLength() : 0,
          };
        }),
      );
      expect(charts.filter((c) => c.kind === 'latency')).toHaveLength(2);
      expect(charts.filter((c) => c.kind === 'profile')).toHaveLength(2);
      for (const c of charts) {
        expect(c.width).toBeGreaterThan(100);
        expect(c.height).toBeGreaterThan(50);
        expect(c.drawnBars).toBeGreaterThan(0);
        if (c.kind === 'latency') {
          expect(c.cdfPoints).toBe(40);
          expect(c.cdfLength).toBeGreaterThan(10);
        }
      }
      const rows = await page.$$eval('table tbody tr', (trs) => trs.length);
      expect(rows).toBe(2);
      // Self-contained: the page itself is the only thing loaded.
      expect(requests).toEqual([pathToFileURL(html).href]);
      await page.screenshot({ path: path.join(ARTIFACTS, 'bench-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
