/** Debian's Chromium driven by playwright-core (it cannot download a browser of its own here). */
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

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
