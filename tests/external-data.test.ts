/**
 * External data on disk: written by saveModel, read lazily by loadModel, and read by
 * onnxruntime itself (the oracle) from the same files; path escapes are refused; writes
 * are atomic; models past protobuf's 2 GiB limit round-trip through external data.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExternalDataError, InvalidArgumentError, Graph, Model, Tensor, tensorType, encodeModel } from '@edgeml/core';
import { loadModel, saveModel } from '@edgeml/core/node';
import { buildConvBnNet, randomTensor, runOrt, maxAbsDiff } from './support/models.js';
import { checkModels } from './support/onnx-checker.js';

const made: string[] = [];
/** A temp folder removed after the file's tests: the >2 GiB case writes gigabytes. */
const dir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-ext-'));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

describe('external data', () => {
  it('saves initializers to a data file that onnxruntime and loadModel both read back', async () => {
    const d = dir();
    const model = buildConvBnNet();
    const file = path.join(d, 'net.onnx');
    await saveModel(file, model, { externalData: { threshold: 64 } });
    expect(fs.existsSync(path.join(d, 'net.onnx.data'))).toBe(true);
    expect(fs.statSync(file).size).toBeLessThan(encodeModel(model).byteLength - 1000);
    expect(checkModels([file]).get(file)).toBeNull();

    const feeds = { x: randomTensor([1, 3, 16, 16], 5) };
    const expected = await runOrt(encodeModel(model), feeds);
    const fromFile = await runOrt(file, feeds);
    expect(maxAbsDiff(fromFile.logits, expected.logits)).toBe(0);

    const loaded = await loadModel(file);
    const w = loaded.graph.initializers.get('conv1.w')!.const!;
    expect(w.isExternalAndUnloaded).toBe(true);
    expect(Array.from(w.data as Float32Array)).toEqual(
      Array.from(model.graph.initializers.get('conv1.w')!.const!.data as Float32Array),
    );
    expect(w.isExternalAndUnloaded).toBe(false);

    // Saving the loaded model elsewhere without external data embeds everything.
    const copy = path.join(d, 'copy.onnx');
    await saveModel(copy, loaded);
    const again = await runOrt(copy, feeds);
    expect(maxAbsDiff(again.logits, expected.logits)).toBe(0);
  });

  it('refuses locations that leave the model folder', async () => {
    const d = dir();
    const outside = dir();
    fs.writeFileSync(path.join(outside, 'secret.bin'), Buffer.alloc(64));
    fs.symlinkSync(path.join(outside, 'secret.bin'), path.join(d, 'link.bin'));
    for (const location of [
      '../secret.bin',
      path.join(outside, 'secret.bin'),
      'link.bin',
      'sub/../../secret.bin',
      'missing.bin',
    ]) {
      const g = new Graph('g');
      const x = g.addInput('x', tensorType('float32', [4]));
      const w = g.addInitializer('w', Tensor.external('float32', [4], { location, offset: 0, length: 16 }));
      g.outputs.push(g.op('Add', [x, w]).outputs[0]);
      g.outputs[0].type = tensorType('float32', [4]);
      const file = path.join(d, 'm.onnx');
      fs.writeFileSync(file, encodeModel(new Model(g)));
      const err = await loadModel(file).catch((e) => e);
      expect(err, location).toBeInstanceOf(ExternalDataError);
      expect(err.message).toContain(location);
    }
  });

  it('refuses a range past the end of the data file', async () => {
    const d = dir();
    fs.writeFileSync(path.join(d, 'w.bin'), Buffer.alloc(8));
    const g = new Graph('g');
    g.addInitializer('w', Tensor.external('float32', [4], { location: 'w.bin', offset: 0, length: 16 }));
    const file = path.join(d, 'm.onnx');
    fs.writeFileSync(file, encodeModel(new Model(g)));
    const model = await loadModel(file);
    expect(() => model.graph.initializers.get('w')!.const!.data).toThrow(
      /is 8 bytes, but the model asks for bytes 0..16/,
    );
  });

  it('writes atomically: a failed save leaves the old file and no temp files', async () => {
    const d = dir();
    const file = path.join(d, 'm.onnx');
    fs.writeFileSync(file, 'old contents');
    const g = new Graph('g');
    g.addInitializer(
      'w',
      Tensor.external('float32', [4], {
        location: 'x.bin',
        offset: 0,
        load: () => {
          throw new ExternalDataError('disk gone');
        },
      }),
    );
    await expect(saveModel(file, new Model(g))).rejects.toThrow(/disk gone/);
    expect(fs.readFileSync(file, 'utf8')).toBe('old contents');
    expect(fs.readdirSync(d)).toEqual(['m.onnx']);
  });

  it('handles a model past 2 GiB: inline encoding is refused, external data works end to end', async () => {
    const d = dir();
    const size = 1_100_000_000;
    const g = new Graph('big');
    const idx = g.addInput('idx', tensorType('int64', [2]));
    const blocks = [0, 1].map((k) => {
      const bytes = new Uint8Array(size);
      bytes[0] = 10 + k;
      bytes[size - 1] = 20 + k;
      return g.addInitializer(`block${k}`, Tensor.fromBytes('uint8', [size], bytes));
    });
    for (const [k, b] of blocks.entries()) {
      const out = g.op('Gather', [b, idx], { axis: 0 }, { name: `gather${k}` }).outputs[0];
      out.type = tensorType('uint8', [2]);
      g.outputs.push(out);
    }
    const model = new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 });
    expect(() => encodeModel(model)).toThrow(InvalidArgumentError);
    const file = path.join(d, 'big.onnx');
    await saveModel(file, model, { externalData: {} });
    expect(fs.statSync(path.join(d, 'big.onnx.data')).size).toBeGreaterThan(2 ** 31);
    const out = await runOrt(file, { idx: Tensor.from('int64', [2], [0n, BigInt(size - 1)]) });
    expect(Array.from(Object.values(out).map((t) => Array.from(t.data as Uint8Array)))).toEqual([
      [10, 20],
      [11, 21],
    ]);
    const loaded = await loadModel(file);
    const b1 = loaded.graph.initializers.get('block1')!.const!;
    expect((b1.data as Uint8Array)[size - 1]).toBe(21);
  }, 300_000);
});
