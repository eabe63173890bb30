/** The simplification every export starts from (shared by the export and its int8 pre-check). */
import { OpsetConversionError, simplify, type Model } from '@edgeml/core';

/**
 * The model simplified with the export's static shapes, at opset 14 or more where it converts
 * exactly, so that exporter idioms fuse into ops TFLite has (x·relu6(x + 3)/6 into one HARD_SWISH).
 */
export async function simplifyForExport(model: Model, options: { shapes?: Record<string, readonly number[]> }) {
  const opset = model.opset('') ?? 1;
  // TFLite's kernels need constant weights: constant subexpressions fold further than simplify's
  // default (an LSTM's gate weights sliced and concatenated from a PyTorch parameter, Silero VAD).
  const simplifyOptions = {
    shapes: options.shapes,
    keepInferredShapes: true,
    constantFolding: { maxGrowthElements: 1 << 16 },
  };
  if (opset >= 14) return simplify(model, simplifyOptions);
  try {
    return await simplify(model, { ...simplifyOptions, opset: 14 });
  } catch (e) {
    if (!(e instanceof OpsetConversionError)) throw e;
    return simplify(model, simplifyOptions);
  }
}
