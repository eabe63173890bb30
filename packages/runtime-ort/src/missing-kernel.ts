import { UnsupportedOpError, decodeModel, type Model } from '@edgeml/core';

const MISSING_KERNEL = /Could not find an implementation for (\w+)\((\d+)\) node with name '([^']*)'/;

/**
 * The model a failed session was made from, to find the failing node's domain in: the IR, its
 * bytes, or a function giving either, called only when the failure is a missing kernel (so a
 * model given as a file path is read only then).
 */
export type ModelForLookup = Model | Uint8Array | (() => Model | Uint8Array);

/**
 * onnxruntime's "Could not find an implementation for Op(version) node with name 'n'" as an
 * UnsupportedOpError naming the op, its domain (looked up in the model) and the node; undefined
 * for any other failure.
 *
 * @example
 * ```ts
 * try {
 *   await ort.InferenceSession.create(bytes);
 * } catch (e) {
 *   throw missingKernelError(e, 'onnxruntime-web', bytes) ?? e; // UnsupportedOpError { opType: 'Min', opset: 13, ... }
 * }
 * ```
 */
export function missingKernelError(
  error: unknown,
  backend: string,
  model: ModelForLookup | undefined,
): UnsupportedOpError | undefined {
  const missing = MISSING_KERNEL.exec((error as Error)?.message ?? '');
  if (!missing) return undefined;
  const [, opType, opset, nodeName] = missing;
  let domain = '';
  try {
    const source = typeof model === 'function' ? model() : model;
    const ir = source instanceof Uint8Array ? decodeModel(source) : source;
    for (const g of ir?.graphs() ?? [])
      for (const n of g) if (n.name === nodeName && n.opType === opType) domain = n.domain;
  } catch {
    // The runtime parsed it; if we cannot, the op name alone still says what is missing.
  }
  const qualified = domain && domain !== 'ai.onnx' ? `${domain}.${opType}` : opType;
  return new UnsupportedOpError(
    opType,
    domain,
    Number(opset),
    `${backend} has no kernel for ${qualified} (version ${opset}), used by ${nodeName ? `node '${nodeName}'` : 'an unnamed node'}; run this model on another runtime, or leave that op out of the transformation that made it`,
    nodeName,
  );
}
