// The browser side of tests/runtime-web-browser.test.ts: loads @edgeml/runtime-web as an app
// would (bundled by Vite), runs models the test asks for, and shows the outputs on the page.
import { WebBackend } from '@edgeml/runtime-web';
import { fromPlain, toPlain, type PlainTensor } from '../../support/plain-tensor.js';
interface Page {
  crossOriginIsolated: boolean;
  location: { search: string };
  document: {
    getElementById(id: string): {
      textContent: string | null;
      innerHTML: string;
      querySelector(s: string): { insertAdjacentHTML(where: string, html: string): void };
    };
  };
  edgeml?: unknown;
}
const page = globalThis as unknown as Page;
const threads = page.crossOriginIsolated ? 2 : 1;
// ?wasm=/elsewhere/ lets the test point the runtime at a folder without the wasm files.
const wasmPaths = new URLSearchParams(page.location.search).get('wasm') ?? '/ort/';
const backend = new WebBackend({ wasmPaths, numThreads: threads });

async function run(modelUrl: string, feeds: Record<string, PlainTensor>, executionProviders?: string[]) {
  const session = await backend.createSession(modelUrl, { executionProviders });
  const result = toPlain(await session.run(fromPlain(feeds)));
  const rows = Object.entries(result)
    .map(
      ([k, t]) =>
        `<tr><td>${modelUrl}</td><td>${k}</td><td>[${t.dims.join(', ')}]</td><td>${t.data
          .slice(0, 4)
          .map((v) => v.toFixed(5))
          .join(', ')}</td><td>${session.executionProviders?.join(', ')}</td></tr>`,
    )
    .join('');
  page.document.getElementById('results').querySelector('tbody').insertAdjacentHTML('beforeend', rows);
  const eps = session.executionProviders;
  await session.dispose();
  return { outputs: result, executionProviders: eps };
}

async function failure(modelUrl: string) {
  try {
    await backend.createSession(modelUrl);
    return undefined;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
}

backend.init().then(
  () => {
    page.edgeml = { run, failure, threads, version: backend.version };
    page.document.getElementById('status').textContent =
      `onnxruntime-web ${backend.version}, wasm with ${threads} thread(s), cross-origin isolated: ${page.crossOriginIsolated}`;
  },
  (e: Error) => {
    page.document.getElementById('status').textContent = `failed: ${e.message}`;
    page.edgeml = { initError: e.message };
  },
);
