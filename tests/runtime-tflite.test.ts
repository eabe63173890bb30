/**
 * @edgeml/runtime-tflite on real .tflite files that npm packages ship. Oracle: the same networks
 * as ONNX (shipped beside them by the same package), run on onnxruntime-node with real inputs.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  BackendError,
  InvalidArgumentError,
  ModelFormatError,
  Tensor,
  UnsupportedOpError,
  backendRegistry,
  decodeModel,
  resolveBackend,
} from '@edgeml/core';
import { TFJS_TFLITE_VERSION, TfliteBackend, registerTfliteBackend } from '@edgeml/runtime-tflite';
import { runCli } from '../packages/cli/src/testing/run-cli.js';
import type { BenchJson } from '../packages/cli/src/commands/bench.js';
import type { ComparisonResult } from '@edgeml/benchmark';
import { loadSuite, type Suite } from './support/real-models.js';
import { runOnLiteRt } from './support/litert.js';
import { imageInputs, onOnnxruntime } from './support/tflite-cases.js';
import { SampleFactory, type InputRecipe } from './support/real-model-data.js';

let suite: Suite | undefined;
let factory: SampleFactory | undefined;
function context() {
  suite ??= loadSuite();
  factory ??= new SampleFactory({
    wavFile: suite.files['lena-wav'],
    melspectrogramModel: suite.files['oww-melspectrogram'],
    embeddingModel: suite.files['oww-embedding'],
  });
  return { files: suite.files, factory };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('TfliteBackend on openWakeWord models (.tflite and .onnx of the same networks)', () => {
  it('describes inputs and outputs as TFLite declares them', async () => {
    const { files } = context();
    const session = await new TfliteBackend().createSession(files['oww-embedding-tflite']);
    expect(session.inputs).toEqual([
      {
        name: 'serving_default_input_1:0',
        type: { kind: 'tensor', dtype: 'float32', shape: [1, 76, 32, 1] },
        tensorIndex: 0,
        // Keras left the batch dimension open (shape_signature [-1, 76, 32, 1]); the interpreter allocates 1.
        dynamicAxes: [0],
      },
    ]);
    expect(session.outputs.map((o) => [o.name, o.type])).toEqual([
      ['StatefulPartitionedCall:0', { kind: 'tensor', dtype: 'float32', shape: [1, 1, 1, 96] }],
    ]);
    await session.dispose();
  });

  it('matches onnxruntime on the ONNX twin within float32 round-off, on real speech features', async () => {
    const { files, factory } = context();
    const backend = new TfliteBackend();
    const cases: { tflite: string; onnx: string; recipe: InputRecipe }[] = [
      {
        tflite: 'oww-embedding-tflite',
        onnx: 'oww-embedding',
        recipe: { shape: [1, 76, 32, 1], data: { source: 'mel-frames' } },
      },
      {
        tflite: 'oww-hey-jarvis-tflite',
        onnx: 'oww-hey-jarvis',
        recipe: { shape: [1, 16, 96], data: { source: 'wake-word-features' } },
      },
      {
        tflite: 'oww-alexa-tflite',
        onnx: 'oww-alexa',
        recipe: { shape: [1, 16, 96], data: { source: 'wake-word-features' } },
      },
    ];
    for (const c of cases) {
      const samples = await factory.samples({ x: c.recipe });
      const session = await backend.createSession(files[c.tflite]);
      for (const sample of samples.slice(0, 3)) {
        const out = await session.run({ [session.inputs[0].name]: sample.x });
        const got = out[session.outputs[0].name].data as Float32Array;
        const want = (await onOnnxruntime(files[c.onnx], [sample.x]))[0].data as Float32Array;
        expect(got.length, c.tflite).toBe(want.length);
        const scale = Math.max(...Array.from(want, Math.abs));
        expect(maxAbsDiff(got, want), c.tflite).toBeLessThanOrEqual(1e-4 * Math.max(scale, 1));
      }
      await session.dispose();
    }
  });
});

describe('TfliteBackend on MediaPipe models (float16 weights), judged by LiteRT.js', () => {
  it('agrees with a second TFLite interpreter on every output', async () => {
    const { files } = context();
    const backend = new TfliteBackend();
    for (const id of ['mp-face-detection-short', 'mp-face-detection-full-sparse', 'mp-hand-landmark-lite']) {
      const session = await backend.createSession(files[id]);
      const [input] = await imageInputs(context().factory, (session.inputs[0].type as { shape: number[] }).shape, 1);
      const ours = await session.run({ [session.inputs[0].name]: input });
      const theirs = await runOnLiteRt(files[id], [input]);
      expect(theirs.length, id).toBe(session.outputs.length);
      session.outputs.forEach((o, i) => {
        const [got, want] = [ours[o.name], theirs[i]];
        expect(got.dims, `${id} ${o.name}`).toEqual(want.dims);
        const scale = Math.max(1, ...Array.from(want.data as Float32Array, Math.abs));
        expect(maxAbsDiff(got.data as Float32Array, want.data as Float32Array), `${id} ${o.name}`).toBeLessThan(
          1e-5 * scale,
        );
      });
      await session.dispose();
    }
  });
});

/** A copy of a real model with its first operator code's builtin code and version overwritten. */
function withOperatorCode(file: string, change: { builtinCode?: number; version?: number }): Uint8Array {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const view = new DataView(bytes.buffer);
  const field = (table: number, index: number) => {
    const vtable = table - view.getInt32(table, true);
    return table + view.getUint16(vtable + 4 + 2 * index, true);
  };
  const codes = field(view.getUint32(0, true), 1);
  const vector = codes + view.getUint32(codes, true);
  const first = vector + 4 + view.getUint32(vector + 4, true);
  if (change.builtinCode !== undefined) {
    view.setInt32(field(first, 3), change.builtinCode, true);
    view.setInt8(field(first, 0), 127); // deprecated_builtin_code: "see builtin_code"
  }
  if (change.version !== undefined) view.setInt32(field(first, 2), change.version, true);
  return bytes;
}

describe('TfliteBackend errors', () => {
  it('names the file and what is wrong with bytes that are not a .tflite model', async () => {
    const { files } = context();
    const backend = new TfliteBackend();
    const onnx = fs.readFileSync(files['oww-embedding']);
    await expect(backend.createSession(files['oww-embedding'])).rejects.toThrow(ModelFormatError);
    await expect(backend.createSession(files['oww-embedding'])).rejects.toThrow(/file identifier "TFL3" missing/);
    await expect(backend.createSession(new Uint8Array(onnx))).rejects.toThrow(/the \.tflite bytes/);
    const tflite = new Uint8Array(fs.readFileSync(files['oww-hey-jarvis-tflite']));
    await expect(backend.createSession(tflite.subarray(0, 4096))).rejects.toThrow(ModelFormatError);
    await expect(backend.createSession(new Uint8Array([1, 2, 3]))).rejects.toThrow(/too short/);
    await expect(backend.createSession('/no/such/model.tflite')).rejects.toThrow(InvalidArgumentError);
    await expect(backend.createSession(decodeModel(onnx))).rejects.toThrow(/export the model to \.tflite first/);
  });

  it('passes on what TFLite says when it cannot prepare a model (a dynamic input it cannot size)', async () => {
    const { files } = context();
    const error = await new TfliteBackend().createSession(files['oww-melspectrogram-tflite']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).message).toMatch(/melspectrogram\.tflite/);
    expect((error as Error).message).toMatch(/failed to prepare/);
  });

  it('names an op the interpreter lacks: a custom op, a newer op version, an operator code it does not know', async () => {
    const { files } = context();
    const backend = new TfliteBackend();
    const custom = await backend.createSession(files['mp-selfie-segmentation']).catch((e: unknown) => e);
    expect(custom).toBeInstanceOf(UnsupportedOpError);
    expect(custom).toMatchObject({ opType: 'Convolution2DTransposeBias', domain: 'tflite-custom' });
    expect((custom as Error).message).toMatch(/selfie_segmentation\.tflite': custom op Convolution2DTransposeBias/);
    // Its first operator at version 99: TFLite kernels have a handful of versions, no op has 99.
    const newer = await backend
      .createSession(withOperatorCode(files['oww-alexa-tflite'], { version: 99 }))
      .catch((e: unknown) => e);
    expect(newer).toBeInstanceOf(UnsupportedOpError);
    expect((newer as UnsupportedOpError).opset).toBe(99);
    expect((newer as Error).message).toMatch(/has no kernel for builtin op \w+ version 99/);
    const unknown = await backend
      .createSession(withOperatorCode(files['oww-alexa-tflite'], { builtinCode: 160 }))
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(UnsupportedOpError);
    expect((unknown as Error).message).toMatch(/builtin operator code 160, newer than the wasm interpreter/);
    // The backend keeps working after refusals.
    const ok = await backend.createSession(files['oww-alexa-tflite']);
    await ok.dispose();
  });

  it('checks feeds by name, dtype and shape, and refuses runs after dispose', async () => {
    const { files } = context();
    const session = await new TfliteBackend().createSession(files['oww-hey-jarvis-tflite']);
    const name = session.inputs[0].name;
    const x = Tensor.from('float32', [1, 16, 96], new Float32Array(1536));
    await expect(session.run({})).rejects.toThrow(new RegExp(`missing input '${name}'`));
    await expect(session.run({ [name]: x, extra: x })).rejects.toThrow(/unknown input 'extra'/);
    await expect(session.run({ [name]: Tensor.from('int32', [1, 16, 96], new Int32Array(1536)) })).rejects.toThrow(
      /is float32 in the model, got a int32 tensor/,
    );
    await expect(session.run({ [name]: Tensor.from('float32', [1, 1536], new Float32Array(1536)) })).rejects.toThrow(
      /has shape \[1,16,96\], got \[1,1536\]/,
    );
    expect(Object.keys(await session.run({ [name]: x }))).toEqual([session.outputs[0].name]);
    await session.dispose();
    await expect(session.run({ [name]: x })).rejects.toThrow(/disposed/);
  });
});

describe('TfliteBackend registration and version', () => {
  it('reports the installed interpreter package version and resolves through the registry as tflite', async () => {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve('@tensorflow/tfjs-tflite/package.json', {
      paths: [require.resolve('@edgeml/runtime-tflite/package.json')],
    });
    expect(JSON.parse(fs.readFileSync(pkg, 'utf8')).version).toBe(TFJS_TFLITE_VERSION);
    expect(backendRegistry.has('tflite')).toBe(false);
    registerTfliteBackend();
    expect((await resolveBackend('tflite')).name).toBe('tflite');
    backendRegistry.unregister('tflite');
  });
});

describe('edgeml bench with .tflite files', () => {
  it('benchmarks a .tflite file on the tflite backend', async () => {
    const { files } = context();
    const r = await runCli(['bench', files['oww-hey-jarvis-tflite'], '--runs', '5', '--warmup', '1', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const [res] = (JSON.parse(r.out) as BenchJson).results;
    expect(res).toMatchObject({ backend: 'tflite', backendVersion: TFJS_TFLITE_VERSION, runs: 5 });
    expect(res.sizeBytes).toBe(fs.statSync(files['oww-hey-jarvis-tflite']).size);
    expect(res.inputShapes).toEqual({ 'serving_default_x.1:0': [1, 16, 96] });
  });

  it('compares ONNX on onnxruntime with the .tflite twin side by side, inputs matched by position', async () => {
    const { files } = context();
    const r = await runCli([
      'bench',
      files['oww-embedding'],
      files['oww-embedding-tflite'],
      '--runs',
      '5',
      '--warmup',
      '1',
      '--threads',
      '1',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const [onnx, tflite] = (JSON.parse(r.out) as { results: ComparisonResult[] }).results;
    expect([onnx.backend, tflite.backend]).toEqual(['onnxruntime-node', 'tflite']);
    expect(tflite.ioByPosition).toEqual({
      inputs: { input_1: 'serving_default_input_1:0' },
      outputs: { conv2d_19: 'StatefulPartitionedCall:0' },
    });
    // Random inputs in [0, 1) through the same float32 network from two converters.
    const [agreement] = tflite.agreement!;
    expect(agreement.cosineSimilarity).toBeGreaterThan(0.99999);
    expect(agreement.maxAbsDiff).toBeLessThan(1e-3);
    expect(tflite.speedup).toBeGreaterThan(0);
    expect(tflite.sizeRatio).toBeCloseTo(
      fs.statSync(files['oww-embedding']).size / fs.statSync(files['oww-embedding-tflite']).size,
      6,
    );
  });

  it('refuses --backend tflite for an ONNX model, saying what to do', async () => {
    const { files } = context();
    const r = await runCli(['bench', files['oww-embedding'], '--backend', 'tflite', '--runs', '1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/is not a \.tflite file .*export the model first/);
  });
});
