/** float16 conversion, checked by the ONNX checker and onnxruntime against the float32 model. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, modelStats, Graph, Model, Tensor, tensorType } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { convertToFloat16, DEFAULT_FP16_BLOCK_LIST } from '@edgeml/quantize';
import { SILERO_VAD, buildConvBnNet, randomTensor, runOrt, sileroFeeds } from './support/models.js';
import { checkModels } from './support/onnx-checker.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-fp16-'));
function valid(bytes: Uint8Array, name: string) {
  const file = path.join(tmp, `${name}.onnx`);
  fs.writeFileSync(file, bytes);
  expect(checkModels([file]).get(file)).toBeNull();
}
function maxRel(a: Float32Array, b: Float32Array): number {
  let m = 0,
    scale = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return m / scale;
}

describe('float16 conversion', () => {
  it('converts a conv net, keeps float32 I/O, and stays within float16 precision', async () => {
    const float = buildConvBnNet();
    const fb = encodeModel(float);
    const model = decodeModel(fb);
    const r = convertToFloat16(model);
    expect(r.converted).toBeGreaterThan(5);
    const bytes = encodeModel(model);
    valid(bytes, 'convnet');
    expect(model.graph.inputs[0].dtype).toBe('float32');
    expect(model.graph.outputs[0].dtype).toBe('float32');
    const feeds = { x: randomTensor([2, 3, 16, 16], 9) };
    const [a, b] = [await runOrt(fb, feeds), await runOrt(bytes, feeds)];
    // float16 keeps ~3 decimal digits; through 4 layers 1 % of the output scale is the budget.
    expect(maxRel(a.logits.data as Float32Array, b.logits.data as Float32Array)).toBeLessThan(0.01);
  });

  it('converts Silero VAD (LSTM, If subgraphs) so onnxruntime still runs it, probability within 0.01', async () => {
    const model = await loadModel(SILERO_VAD);
    convertToFloat16(model);
    const bytes = encodeModel(model);
    valid(bytes, 'silero');
    for (const seed of [1, 2]) {
      const feeds = sileroFeeds(seed);
      const [a, b] = [await runOrt(SILERO_VAD, feeds), await runOrt(bytes, feeds)];
      expect(Math.abs((a.output.data as Float32Array)[0] - (b.output.data as Float32Array)[0])).toBeLessThan(0.01);
    }
    expect(fs.statSync(SILERO_VAD).size / bytes.byteLength).toBeGreaterThan(1.8);
  });

  it('keeps blocked ops in float32 behind Casts and clamps weights past the float16 range', async () => {
    const g = new Graph('g');
    const x = g.addInput('x', tensorType('float32', [1, 4]));
    const big = g.addInitializer('big', Tensor.from('float32', [4], [1e6, -1e6, 1, 2]));
    const y = g.op('Mul', [x, big], {}, { name: 'mul' }).outputs[0];
    const z = g.op('Max', [y, g.addInitializer('zero', Tensor.from('float32', [1], [0]))], {}, { name: 'max' })
      .outputs[0];
    z.name = 'z';
    z.type = tensorType('float32', [1, 4]);
    g.outputs.push(z);
    const m = new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 });
    const r = convertToFloat16(m);
    expect(r.clamped).toEqual(['big']);
    expect(r.kept).toEqual([{ name: 'max', opType: 'Max', reason: 'on the float16 block list' }]);
    expect(DEFAULT_FP16_BLOCK_LIST).toContain('Max');
    const bytes = encodeModel(m);
    valid(bytes, 'blocked');
    expect(modelStats(m).opCounts.Cast).toBeGreaterThanOrEqual(2);
    const out = await runOrt(bytes, { x: Tensor.from('float32', [1, 4], [1, 1, 1, 1]) });
    expect(Array.from(out.z.data as Float32Array)).toEqual([65504, 0, 1, 2]);
  });
});

describe('float16 across the ONNX test data', () => {
  it('every test-data model with float weights converts, runs on onnxruntime, and stays within float16 precision', async () => {
    const { decodeTensor } = await import('@edgeml/core');
    const { quantize } = await import('@edgeml/quantize');
    const { listCases } = await import('./support/testdata.js');
    let converted = 0;
    const failures: string[] = [];
    for (const c of listCases()) {
      const bytes = new Uint8Array(fs.readFileSync(c.model));
      const m = decodeModel(bytes);
      if (![...m.graph.initializers.values()].some((v) => v.const?.dtype === 'float32')) continue;
      const names = m.graph.inputs.filter((v) => !m.graph.initializers.has(v.name)).map((v) => v.name);
      let feeds, expected;
      try {
        feeds = Object.fromEntries(c.dataSets[0].inputs.map((f, i) => [names[i], decodeTensor(fs.readFileSync(f))]));
        expected = await runOrt(bytes, feeds);
      } catch {
        continue; // onnxruntime cannot run the original.
      }
      try {
        const r = await quantize(m, { mode: 'fp16', preprocess: false });
        const got = await runOrt(encodeModel(r.model), feeds);
        for (const [name, t] of Object.entries(expected)) {
          if (t.type !== 'float32') continue;
          const a = t.data as Float32Array,
            b = got[name].data as Float32Array;
          let scale = 1e-3,
            worst = 0;
          for (let i = 0; i < a.length; i++) {
            scale = Math.max(scale, Math.abs(a[i]));
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
          }
          if (!(worst <= 0.01 * scale)) failures.push(`${c.name}: output ${name} differs by ${worst} (scale ${scale})`);
        }
        converted++;
      } catch (e) {
        failures.push(`${c.name}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    expect(failures).toEqual([]);
    expect(converted).toBeGreaterThanOrEqual(30);
  }, 300_000);
});
