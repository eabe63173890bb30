import { encodeModel, fixDimensions, inferShapes, modelStats, type Model } from '@edgeml/core';

/** Parameters, multiply-accumulates and file size of a model, before or after pruning. */
export interface ModelFigures {
  params: number;
  /** Per inference at the shapes the model declares (dynamic batch counts as 1). */
  macs: number;
  sizeBytes: number;
}

/** Count a model's parameters, MACs and encoded size (a copy is shape-inferred; the input is untouched). */
export function modelFigures(model: Model): ModelFigures {
  const bytes = encodeModel(model);
  const copy = model.clone();
  // Named dynamic dimensions (batch, sequence) count as 1, so MACs are per sample.
  const symbols = new Set(
    copy.graph.inputs.flatMap((v) => (v.shape ?? []).filter((d): d is string => typeof d === 'string')),
  );
  fixDimensions(copy, Object.fromEntries([...symbols].map((d) => [d, 1])));
  inferShapes(copy, { strict: false });
  const s = modelStats(copy);
  return { params: s.parameters, macs: s.macs, sizeBytes: bytes.byteLength };
}
