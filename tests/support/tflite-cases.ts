/**
 * The .tflite case set of the backend conformance suite: the real .tflite files of
 * scripts/real-models.json (`tfliteModels`) with real inputs, and expected outputs from an
 * oracle that is not the backend under test: onnxruntime on the same network as ONNX (shipped
 * beside it by the same package), or LiteRT.js, a second TFLite interpreter. Entries whose
 * right answer is a refusal (a custom op, a dynamic input) are cases too: the suite requires a
 * typed error for them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tensor } from '@edgeml/core';
import { toOrtTensor } from '@edgeml/runtime-node';
import { readTfliteHeader } from '@edgeml/runtime-tflite';
import type { BackendCase } from '@edgeml/testing';
import { runOnLiteRt } from './litert.js';
import { ROOT, loadSuite, type ModelEntry } from './real-models.js';
import { SampleFactory } from './real-model-data.js';

interface TfliteEntry {
  id: string;
  oracle: 'onnx' | 'litert' | 'refusal';
  onnx?: string;
}

/** The outputs of an ONNX file on onnxruntime-node, in its output order. */
export async function onOnnxruntime(file: string, inputs: Tensor[]): Promise<Tensor[]> {
  const session = await ort.InferenceSession.create(file);
  try {
    const feeds = Object.fromEntries(session.inputNames.map((n, i) => [n, toOrtTensor(inputs[i], n)]));
    const out = await session.run(feeds);
    return session.outputNames.map((n) =>
      Tensor.from('float32', out[n].dims, Float32Array.from(out[n].data as Float32Array)),
    );
  } finally {
    await session.release();
  }
}

/** Real glyph images (MNIST digits laid out as text, in [-1, 1]) in the NHWC layout MediaPipe models take. */
export async function imageInputs(factory: SampleFactory, shape: readonly number[], count: number): Promise<Tensor[]> {
  const [, height, width, channels] = shape;
  const samples = await factory.samples({
    x: {
      shape: [1, channels, height, width],
      data: { source: 'text-image', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    },
  });
  return samples.slice(0, count).map((sample) => {
    const nchw = sample.x.data as Float32Array;
    const nhwc = new Float32Array(nchw.length);
    for (let c = 0; c < channels; c++)
      for (let i = 0; i < height * width; i++) nhwc[i * channels + c] = nchw[c * height * width + i];
    return Tensor.from('float32', shape, nhwc);
  });
}

/** How many input sets each case runs. */
const SETS = 3;

/** The case set; `factory` builds the real inputs. */
export async function tfliteCases(factory: SampleFactory): Promise<BackendCase[]> {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts/real-models.json'), 'utf8')) as {
    tfliteModels: TfliteEntry[];
  };
  const { models, files } = loadSuite();
  const cases: BackendCase[] = [];
  for (const entry of manifest.tfliteModels) {
    const file = files[entry.id];
    const header = readTfliteHeader(new Uint8Array(fs.readFileSync(file)), file);
    const shape = header.inputs[0].shape;
    let dataSets: BackendCase['dataSets'];
    if (entry.oracle === 'onnx') {
      const twin = models.find((m: ModelEntry) => m.id === entry.onnx)!;
      const recipe = Object.values(twin.inputs)[0];
      const samples = await factory.samples({ x: { ...recipe, shape: [...shape] } });
      dataSets = [];
      for (const sample of samples.slice(0, SETS))
        dataSets.push({ inputs: [sample.x], outputs: await onOnnxruntime(files[twin.id], [sample.x]) });
    } else if (entry.oracle === 'litert') {
      dataSets = [];
      for (const x of await imageInputs(factory, shape, SETS))
        dataSets.push({ inputs: [x], outputs: await runOnLiteRt(file, [x]) });
    } else {
      dataSets = [
        { inputs: [Tensor.from('float32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1)))], outputs: [] },
      ];
    }
    cases.push({
      name: `${entry.oracle}/${entry.id}`,
      dir: path.dirname(file),
      model: file,
      dataSets,
      // Two converters (or two interpreter builds) of one float network: float32 round-off, summed differently.
      tolerance: entry.oracle === 'onnx' ? { rtol: 1e-3, atol: 1e-4 } : { rtol: 1e-4, atol: 1e-4 },
    });
  }
  return cases;
}
