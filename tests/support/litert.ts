/**
 * LiteRT.js (@litertjs/core, Google's current TFLite runtime for the web, a newer build than
 * @tensorflow/tfjs-tflite's) as a second TFLite interpreter for tests. It is written for
 * browsers and workers; in Node three shims let its emscripten script run: `self`,
 * `importScripts` (the script is evaluated in this context) and the CommonJS globals the
 * script's Node branch reads, which then loads the .wasm from disk itself.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vm from 'node:vm';
import { Tensor } from '@edgeml/core';

const require = createRequire(import.meta.url);
const WASM_DIR = path.join(path.dirname(require.resolve('@litertjs/core/package.json')), 'wasm');

type LiteRt = typeof import('@litertjs/core');
let loaded: Promise<LiteRt> | undefined;

function load(): Promise<LiteRt> {
  return (loaded ??= (async () => {
    const g = globalThis as Record<string, unknown>;
    const shims: Record<string, unknown> = {
      self: globalThis,
      importScripts: (url: string) =>
        vm.runInThisContext(fs.readFileSync(fileURLToPath(url), 'utf8'), { filename: url }),
      require,
      __dirname: WASM_DIR,
    };
    const added = Object.keys(shims).filter((k) => !(k in g));
    for (const k of added) g[k] = shims[k];
    try {
      const litert = await import('@litertjs/core');
      await litert.loadLiteRt(`file://${WASM_DIR}/`);
      return litert;
    } finally {
      // Other emscripten builds (tfjs-tflite's) take a global importScripts to mean "in a worker".
      for (const k of added) delete g[k];
    }
  })());
}

/**
 * Run a .tflite file on LiteRT.js's wasm (XNNPACK) CPU path with float32 inputs given in the
 * model's input order; the outputs come back in the model's output order.
 */
export async function runOnLiteRt(file: string, inputs: Tensor[]): Promise<Tensor[]> {
  const litert = await load();
  const model = await litert.loadAndCompile(new Uint8Array(fs.readFileSync(file)), { accelerator: 'wasm' });
  const feeds = inputs.map((t) => new litert.Tensor(t.data as Float32Array, [...t.dims]));
  try {
    const outputs = await model.run(feeds);
    const details = model.getOutputDetails();
    const result = outputs.map((o, i) =>
      Tensor.from('float32', Array.from(details[i].shape), Float32Array.from(o.toTypedArray() as Float32Array)),
    );
    for (const o of outputs) o.delete();
    return result;
  } finally {
    for (const f of feeds) f.delete();
    model.delete();
  }
}
