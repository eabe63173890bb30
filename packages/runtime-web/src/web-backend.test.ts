/** onnxruntime-web in Node: quantized models, ops without wasm kernels, size limits, settings. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackendError, Graph, Model, Tensor, UnsupportedOpError, tensorType, type Tensor as T } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { quantize, type QuantizeOptions } from '@edgeml/quantize';
import { TESTDATA_ROOT } from '@edgeml/testing';
import { WebBackend } from './web-backend.js';
import { gemmThenMinInt16 } from '../../../tests/support/models.js';

const ROOT = path.join(__dirname, '..', '..', '..');
const MNIST = path.join(ROOT, 'tests', 'fixtures', 'mnist-cnn.onnx');
const web = new WebBackend();
const node = new NodeBackend();

async function outputsOn(
  backend: WebBackend | NodeBackend,
  model: Model,
  feeds: Record<string, T>,
): Promise<Record<string, T>> {
  const s = await backend.createSession(model);
  try {
    return await s.run(feeds);
  } finally {
    await s.dispose();
  }
}

describe('quantized models on wasm', () => {
  it('every @edgeml/quantize form of the MNIST CNN runs on wasm and answers as onnxruntime-node does', async () => {
    const float = await loadModel(MNIST);
    const images = Array.from({ length: 4 }, (_, k) => ({
      image: Tensor.from(
        'float32',
        [1, 1, 28, 28],
        Float32Array.from({ length: 784 }, (_, i) => ((i * (k + 3)) % 29) / 29),
      ),
    }));
    const forms: [string, QuantizeOptions][] = [
      ['dynamic int8', { mode: 'dynamic', backend: node }],
      ['static QDQ int8, per channel', { mode: 'static', calibrationData: images, backend: node, perChannel: true }],
      ['static QOperator', { mode: 'static', format: 'qoperator', calibrationData: images, backend: node }],
      ['int4 MatMulNBits', { mode: 'int4' }],
      ['fp16', { mode: 'fp16' }],
    ];
    for (const [label, options] of forms) {
      const { model } = await quantize(float, options);
      for (const feeds of images) {
        const [w, n] = [await outputsOn(web, model, feeds), await outputsOn(node, model, feeds)];
        const a = w.logits.toFloat64(),
          b = n.logits.toFloat64();
        const scale = Math.max(...b.map(Math.abs));
        const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
        expect(diff / scale, label).toBeLessThan(label === 'fp16' ? 2e-3 : 1e-5);
        expect(a.indexOf(Math.max(...a)), label).toBe(b.indexOf(Math.max(...b)));
      }
    }
  });
});

describe('what wasm cannot do, said clearly', () => {
  it('names an op that has no wasm kernel (Min on int16, from the ONNX test data)', async () => {
    const file = path.join(TESTDATA_ROOT, 'node', 'test_min_int16', 'model.onnx');
    const err = await web.createSession(file).catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedOpError);
    expect(err).toMatchObject({ opType: 'Min', opset: 13 });
    expect(err.message).toMatch(/onnxruntime-web has no kernel for Min \(version 13\)/);
  });

  it('refuses a model too large for wasm before reading it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-web-'));
    const file = path.join(dir, 'huge.onnx');
    const fd = fs.openSync(file, 'w');
    fs.ftruncateSync(fd, 2.5 * 2 ** 30); // sparse: no disk, no memory
    fs.closeSync(fd);
    await expect(web.createSession(file)).rejects.toThrow(
      /huge.onnx' is 2.50 GiB; onnxruntime-web takes at most 2.00 GiB/,
    );

    const g = new Graph('big');
    const x = g.addInput('x', tensorType('float32', [1]));
    const w = g.addInitializer('w', Tensor.external('float32', [700_000_000], { location: 'w.bin', offset: 0 }));
    const y = g.op('Add', [x, w]).outputs[0];
    g.outputs.push(y);
    await expect(web.createSession(new Model(g, { opsetImports: new Map([['', 17]]) }))).rejects.toThrow(BackendError);
  });

  it('falls back to wasm from providers Node lacks, and says so', async () => {
    const s = await web.createSession(MNIST, { executionProviders: ['webgpu', 'webnn'] });
    expect(s.executionProviders).toEqual(['wasm']);
    expect(s.skippedExecutionProviders).toEqual([
      { name: 'webgpu', reason: 'this platform does not offer it (available: wasm)' },
      { name: 'webnn', reason: 'this platform does not offer it (available: wasm)' },
    ]);
    await s.dispose();
  });

  it('refuses to restart the wasm runtime with other settings', async () => {
    await web.init();
    await expect(new WebBackend({ numThreads: 3 }).init()).rejects.toThrow(
      /already started in this process.*cannot restart/,
    );
    expect(() => new WebBackend({ numThreads: 0 })).toThrow(/numThreads must be a positive integer/);
  });
});

describe("the quantizer's wasm target check", () => {
  it('lists every op wasm cannot run, with the nodes that use it', async () => {
    const r = await quantize(gemmThenMinInt16(), { mode: 'dynamic', target: web });
    expect(r.quantizedNodes.map((n) => n.name)).toContain('fc');
    expect(r.target).toMatchObject({
      runtime: 'onnxruntime-web',
      loads: false,
      unsupportedOps: [{ opType: 'Min', domain: '', nodes: ['min_a', 'min_b'] }],
    });
    expect(r.target!.error).toMatch(/no kernel for Min/);
    const ok = await quantize(await loadModel(MNIST), { mode: 'dynamic', target: web });
    expect(ok.target).toEqual({ runtime: 'onnxruntime-web', loads: true, unsupportedOps: [] });
  });
});
