/**
 * Weights left on disk (`loadModel(file, { deferTensorBytes })`): the model reads and writes the
 * same bytes as one loaded whole, onnxruntime (the oracle) runs it the same, sizing reads nothing,
 * streaming writers read without keeping, and a file changed underneath is an error, not wrong data.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ModelFormatError, encodeModel, encodedSize, modelTensors } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { buildConvBnNet, randomTensor, runOrt } from './support/models.js';
import { loadSuite } from './support/real-models.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-deferred-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The net saved inline, and a copy of its bytes. */
function savedNet(name: string): { file: string; bytes: Buffer } {
  const file = path.join(dir, name);
  fs.writeFileSync(file, encodeModel(buildConvBnNet()));
  return { file, bytes: fs.readFileSync(file) };
}

/** Rewrite the file with the same bytes and a later modification time. */
function touch(file: string): void {
  const later = new Date(fs.statSync(file).mtimeMs + 5000);
  fs.writeFileSync(file, fs.readFileSync(file));
  fs.utimesSync(file, later, later);
}

describe('deferred tensors', () => {
  it('encode to the same bytes and run the same on onnxruntime as a model loaded whole', async () => {
    const { file, bytes } = savedNet('same.onnx');
    const deferred = await loadModel(file, { deferTensorBytes: 256 });
    expect(Buffer.from(encodeModel(deferred)).equals(bytes)).toBe(true);

    // The same file-backed session path for both, so only where the bytes came from differs.
    const feeds = { x: randomTensor([1, 3, 16, 16], 3) };
    const backend = new NodeBackend({ fileBackedThresholdBytes: 0 });
    const outputs = [];
    for (const model of [await loadModel(file), await loadModel(file, { deferTensorBytes: 256 })]) {
      const session = await backend.createSession(model, { intraOpThreads: 1 });
      try {
        outputs.push((await session.run(feeds)).logits);
      } finally {
        await session.dispose();
      }
    }
    const [whole, fromFile] = outputs.map((t) => Array.from(t.data as Float32Array));
    expect(fromFile).toEqual(whole);
    const direct = (await runOrt(file, feeds)).logits.data as Float32Array;
    expect(Math.max(...fromFile.map((v, i) => Math.abs(v - direct[i])))).toBeLessThan(1e-6);
  });

  it('size without reading, stream without keeping, and refuse a file that changed', async () => {
    const { file } = savedNet('changed.onnx');
    const model = await loadModel(file, { deferTensorBytes: 256 });
    const w = model.graph.initializers.get('conv1.w')!.const!;
    const first = Array.from(w.readBytes());
    touch(file);
    // Sizing needs lengths only; the weight was not kept by readBytes, so reading it now fails.
    expect(encodedSize(model)).toBe(fs.statSync(file).size);
    expect(() => w.data).toThrow(ModelFormatError);
    expect(() => w.data).toThrow(/changed on disk/);

    const again = await loadModel(file, { deferTensorBytes: 256 });
    const v = again.graph.initializers.get('conv1.w')!.const!;
    expect(Array.from(v.bytes)).toEqual(first);
    touch(file);
    // Read once through .bytes, the weight is kept: the changed file no longer matters to it.
    expect(Array.from(new Uint8Array((v.data as Float32Array).buffer))).toEqual(first);
  });

  it('keeps small tensors in memory and refuses a negative threshold', async () => {
    const { file } = savedNet('small.onnx');
    const model = await loadModel(file, { deferTensorBytes: 1 << 30 });
    touch(file);
    expect(Buffer.from(encodeModel(model)).equals(fs.readFileSync(file))).toBe(true);
    await expect(loadModel(file, { deferTensorBytes: -1 })).rejects.toThrow(InvalidArgumentError);
  });

  it('leave the weights of real models of every exporter on disk, initializers and Constant nodes in subgraphs too', async () => {
    const suite = loadSuite();
    for (const entry of suite.models) {
      const file = path.join(dir, `${entry.id}.onnx`);
      fs.copyFileSync(suite.files[entry.id], file);
      const whole = encodeModel(await loadModel(file));
      const deferred = await loadModel(file, { deferTensorBytes: 1024 });
      expect(Buffer.from(encodeModel(deferred)).equals(Buffer.from(whole)), entry.id).toBe(true);
      // A changed file shows which weights were left there: exactly those of 1 KiB or more.
      touch(file);
      let left = 0;
      for (const t of modelTensors(deferred)) {
        if (t.dtype === 'string' || t.externalData) continue;
        if (t.byteLength >= 1024) {
          expect(() => t.readBytes(), `${entry.id}: ${t.name}`).toThrow(/changed on disk/);
          left++;
        } else expect(t.readBytes().byteLength).toBe(t.byteLength);
      }
      expect(left, entry.id).toBeGreaterThan(0);
    }
  });

  it("a damaged file is the decoder's ModelFormatError, with weights deferred or not", async () => {
    const { file, bytes } = savedNet('cut.onnx');
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    await expect(loadModel(file, { deferTensorBytes: 256 })).rejects.toThrow(ModelFormatError);
    await expect(loadModel(path.join(dir, 'missing.onnx'), { deferTensorBytes: 256 })).rejects.toThrow(/no such file/);
    await expect(loadModel(dir, { deferTensorBytes: 256 })).rejects.toThrow(/it is a folder/);
  });
});
