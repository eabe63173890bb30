/**
 * `edgeml export --quantize int8`: the CLI composes the packages (DESIGN.md): @edgeml/quantize's
 * static QDQ scheme calibrates the model on the representative data (TFLiteConverter's
 * representative dataset) with TFLite's int8 conventions, and @edgeml/tflite lowers the QDQ
 * model into int8 tensors.
 */
import { Tensor, fixInputShapes, type Model } from '@edgeml/core';
import { loadSampleFolder } from '@edgeml/core/node';
import { makeFeeds } from '@edgeml/benchmark';
import { TFLITE_STATIC_OPS, quantize } from '@edgeml/quantize';
import { resolveCliBackend } from '../backends.js';

/** How many seeded random samples calibrate when no --calibration folder is given. */
export const RANDOM_CALIBRATION_SAMPLES = 16;

/** The representative samples: a --calibration folder (.npy or images, as `edgeml quantize`), else seeded random ones. */
export function calibrationSamples(
  model: Model,
  folder: string | undefined,
  shapes: Record<string, number[]>,
  warn: (text: string) => void,
): Record<string, Tensor>[] {
  if (folder) return loadSampleFolder(folder, model);
  warn(
    `warning: --quantize int8 without --calibration: the activation ranges come from ${RANDOM_CALIBRATION_SAMPLES} random inputs in [0, 1), not from real data; pass a folder of representative samples for a model you ship\n`,
  );
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  return Array.from({ length: RANDOM_CALIBRATION_SAMPLES }, (_, i) =>
    makeFeeds(
      inputs.map((v) => ({ name: v.name, type: v.type })),
      { shapes, seed: i + 1 },
    ),
  );
}

/**
 * A QDQ copy of `model` for TFLite's full-integer scheme: asymmetric int8 activations, symmetric
 * per-channel int8 weights, int32 biases, the ops of TFLITE_STATIC_OPS, fixed Softmax/Logistic/Tanh
 * output scales; calibrated (min/max) on `samples` with onnxruntime-node.
 */
export async function quantizeForTflite(
  model: Model,
  samples: Record<string, Tensor>[],
  shapes: Record<string, number[]>,
): Promise<Model> {
  const work = model.clone();
  if (Object.keys(shapes).length) fixInputShapes(work, shapes);
  const result = await quantize(work, {
    mode: 'static',
    calibrationData: samples,
    backend: await resolveCliBackend('node'),
    activationType: 'int8',
    activationSymmetric: false,
    weightType: 'int8',
    perChannel: true,
    opTypes: TFLITE_STATIC_OPS,
  });
  return result.model;
}
