/** Activation ranges fixed by the kernels that compute them, whatever calibration saw. */
import type { Node } from '@edgeml/core';
import type { TensorRange } from './calibrate.js';

/**
 * Outputs whose quantization is fixed by the kernels that read or compute them. Softmax outputs
 * live in [0, 1): a 1/256 step covers them, the scale onnxruntime's uint8 QLinearSoftmax
 * requires. With asymmetric int8 (TFLite's scheme) Softmax and Sigmoid take [0, 255/256]
 * (scale 1/256, zero point −128) and Tanh [−1, 127/128] (1/128, 0), what TFLite's int8 kernels
 * check for. A caller's paramOverrides win.
 */
export function fixOutputRanges(
  chosen: readonly Node[],
  ranges: Map<string, TensorRange>,
  paramOverrides: Record<string, unknown> | undefined,
  typeOf: (name: string) => { type: string; symmetric: boolean },
): void {
  for (const n of chosen) {
    const out = n.outputs[0]?.name;
    if (!out || paramOverrides?.[out]) continue;
    const { type, symmetric } = typeOf(out);
    const tflite = type === 'int8' && !symmetric;
    if (n.opType === 'Softmax' && (type === 'uint8' || tflite)) ranges.set(out, { min: 0, max: 255 / 256 });
    else if (n.opType === 'Sigmoid' && tflite) ranges.set(out, { min: 0, max: 255 / 256 });
    else if (n.opType === 'Tanh' && tflite) ranges.set(out, { min: -1, max: 127 / 128 });
  }
}
