/** Debian's Chromium driven by playwright-core (it cannot download a browser of its own here). */
import type { Browser, Page } from 'playwright-core';

export { CHROMIUM_PATH, launchChromium } from '../../scripts/chromium.mjs';

/** Bundle a test page (a folder with index.html and its main.ts) with Vite into `outDir`. */
export async function buildTestPage(pageDir: string, outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    root: pageDir,
    configFile: false,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, chunkSizeWarningLimit: 100_000 },
  });
}

/** A new tab at `url`, once the page's script has set `globalThis.edgeml` (its API, or its init error). */
export async function openTestPage(
  browser: Browser,
  url: string,
  viewport?: { width: number; height: number },
): Promise<Page> {
  const page = await browser.newPage(viewport ? { viewport } : {});
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as { edgeml?: unknown }).edgeml !== undefined, undefined, {
    timeout: 60_000,
  });
  return page;
}
