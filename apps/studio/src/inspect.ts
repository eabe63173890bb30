// Worker side: what Inspect shows of a model, from core's statistics and preparation.
import {
  decodeModel,
  fixInputShapes,
  formatType,
  inferShapes,
  modelStats,
  prepare,
  type Model,
  type Value,
} from '@edgeml/core';
import type { InputShapes, InspectSummary } from './protocol.js';

/** Everything quantization (static int8 per channel) and channel pruning ask of a model before they start. */
const TRANSFORMATION_NEEDS = {
  liftConstants: true,
  foldWeightCasts: true,
  minOpset: 13,
  fuseActivations: true,
  fuseNormalizations: true,
} as const;

const io = (v: Value) => ({ name: v.name, type: formatType(v.type) });

/** Decode with the file's name in every error. */
export function readModel(bytes: Uint8Array, fileName = 'model.onnx'): Model {
  return decodeModel(bytes, { file: fileName });
}

export function inspectModel(bytes: Uint8Array, fileName: string, shapes: InputShapes = {}): InspectSummary {
  const model = readModel(bytes, fileName);
  const graph = model.graph;
  let preparation: string[] = [];
  let preparationError: string | undefined;
  try {
    // prepare() works on a clone when it changes anything: the model shown stays as loaded.
    preparation = prepare(model, TRANSFORMATION_NEEDS).prepared.map((s) => s.detail);
  } catch (e) {
    preparationError = (e as Error).message;
  }
  // Shapes feed the MAC counts: the shapes given, else dynamic dimensions at 1 (a batch of one);
  // a shape conflict does not stop an inspection.
  const shaped = model.clone();
  const inputs = shaped.graph.inputs.filter((v) => !shaped.graph.initializers.has(v.name));
  const dynamic = inputs.filter((v) => !shapes[v.name] && v.shape?.some((d) => typeof d !== 'number'));
  fixInputShapes(shaped, {
    ...Object.fromEntries(dynamic.map((v) => [v.name, v.shape!.map((d) => (typeof d === 'number' ? d : 1))])),
    ...shapes,
  });
  inferShapes(shaped, { strict: false });
  const stats = modelStats(shaped);
  return {
    fileName,
    sizeBytes: bytes.byteLength,
    irVersion: model.irVersion,
    opsets: [...model.opsetImports].map(([domain, version]) => `${domain || 'ai.onnx'} ${version}`),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' ') || 'not recorded',
    inputs: graph.inputs.filter((v) => !graph.initializers.has(v.name)).map(io),
    outputs: graph.outputs.map(io),
    nodes: stats.nodeCount,
    parameters: stats.parameters,
    parameterBytes: stats.parameterBytes,
    macs: stats.nodeMacs.length ? stats.macs : null,
    macsUnknownNodes: stats.macsUnknown.length,
    macsAtBatchOne: dynamic.length > 0,
    opCounts: Object.entries(stats.opCounts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
    preparation,
    ...(preparationError ? { preparationError } : {}),
  };
}
