/**
 * @edgeml/runtime-tflite on real .tflite files that npm packages ship. Oracle: the same networks
 * as ONNX (shipped beside them by the same package), run on onnxruntime-node with real inputs.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import {
  BackendError,
  InvalidArgumentError,
  ModelFormatError,
  Tensor,
  backendRegistry,
  decodeModel,
  resolveBackend,
} from '@edgeml/core';
import { TFJS_TFLITE_VERSION, TfliteBackend, registerTfliteBackend } from '@edgeml/runtime-tflite';
import { toOrtTensor } from '@edgeml/runtime-node';
import { loadSuite, type Suite } from './support/real-models.js';
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

async function onOnnxruntime(file: string, input: Tensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  const out = await session.run({ [session.inputNames[0]]: toOrtTensor(input, session.inputNames[0]) });
  const data = out[session.outputNames[0]].data as Float32Array;
  await session.release();
  return data;
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
        const want = await onOnnxruntime(files[c.onnx], sample.x);
        expect(got.length, c.tflite).toBe(want.length);
        const scale = Math.max(...Array.from(want, Math.abs));
        expect(maxAbsDiff(got, want), c.tflite).toBeLessThanOrEqual(1e-4 * Math.max(scale, 1));
      }
      await session.dispose();
    }
  });
});

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
