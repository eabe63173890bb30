// The browser side of tests/runtime-tflite-browser.test.ts: loads @edgeml/runtime-tflite as an
// app would (bundled by Vite), with TFLite's wasm interpreter served beside the page, runs the
// .tflite files the test asks for and hands back their outputs.
import { TfliteBackend, type TfliteModuleFactory } from '@edgeml/runtime-tflite';
import { fromPlain, toPlain, type PlainTensor } from '../../support/plain-tensor.js';

interface Page {
  tflite_web_api_ModuleFactory?: TfliteModuleFactory;
  document: {
    getElementById(id: string): { textContent: string | null; insertAdjacentHTML(w: string, h: string): void };
  };
  edgeml?: unknown;
}
const page = globalThis as unknown as Page;
const backend = new TfliteBackend({
  wasm: { factory: page.tflite_web_api_ModuleFactory, wasmUrl: '/tflite/tflite_web_api_cc_simd.wasm' },
});

async function run(modelUrl: string, feeds: Record<string, PlainTensor>) {
  const session = await backend.createSession(modelUrl);
  try {
    const outputs = toPlain(await session.run(fromPlain(feeds)));
    const line = Object.entries(outputs)
      .map(
        ([k, t]) =>
          `${k} [${t.dims.join(', ')}]: ${t.data
            .slice(0, 3)
            .map((v) => v.toFixed(5))
            .join(', ')}`,
      )
      .join('; ');
    page.document.getElementById('results').insertAdjacentHTML('beforeend', `<li>${modelUrl}: ${line}</li>`);
    return outputs;
  } finally {
    await session.dispose();
  }
}

backend.init().then(
  () => {
    page.edgeml = { run, version: backend.version };
    page.document.getElementById('status').textContent =
      `TFLite wasm interpreter of ${backend.name} ${backend.version}`;
  },
  (e: Error) => {
    page.edgeml = { initError: e.message };
    page.document.getElementById('status').textContent = `failed: ${e.message}`;
  },
);
