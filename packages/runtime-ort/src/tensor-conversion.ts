import { BackendError, Tensor, type DType } from '@edgeml/core';
import type { Tensor as OrtTensor, TensorConstructor } from 'onnxruntime-common';

/**
 * Keyed by onnxruntime-common's `Tensor.Type`, so a type onnxruntime adds or drops fails the
 * build here instead of surfacing as a runtime refusal.
 */
const ORT_TYPES: Record<OrtTensor.Type, true> = {
  float32: true,
  uint8: true,
  int8: true,
  uint16: true,
  int16: true,
  int32: true,
  int64: true,
  string: true,
  bool: true,
  float16: true,
  float64: true,
  uint32: true,
  uint64: true,
  int4: true,
  uint4: true,
};

/** Element types onnxruntime's JavaScript API can carry (its `Tensor.Type`), by EdgeML dtype name. */
export const ORT_JS_TYPES: ReadonlySet<string> = new Set(Object.keys(ORT_TYPES));

const isOrtType = (dtype: string): dtype is OrtTensor.Type => ORT_JS_TYPES.has(dtype);

/** Converts a core Tensor to an onnxruntime tensor; `inputName` names the input in the error for a refused type. */
export type OrtTensorConverter = (tensor: Tensor, inputName: string) => OrtTensor;

/**
 * A converter from core Tensors to a runtime's tensors that wraps each Tensor once: a Tensor's
 * dims and buffer never change, so feeding it again (benchmarks, streaming state) costs no
 * allocation, and in-place edits of its typed array still reach the runtime, which reads the
 * same buffer.
 *
 * `TensorClass` must be the runtime's own `Tensor` export: onnxruntime-web bundles its copy of
 * onnxruntime-common and checks feeds with `instanceof`, so a Tensor class from elsewhere is refused.
 *
 * @example
 * ```ts
 * import * as ort from 'onnxruntime-node';
 * const toOrt = ortTensorConverter('onnxruntime-node', ort.Tensor);
 * const wrapped = toOrt(Tensor.from('float32', [2], [1, 2]), 'x'); // wrapped.data is the Tensor's own Float32Array
 * ```
 */
export function ortTensorConverter(backend: string, TensorClass: TensorConstructor): OrtTensorConverter {
  const wrappers = new WeakMap<Tensor, OrtTensor>();
  return (tensor, inputName) => {
    let wrapped = wrappers.get(tensor);
    if (!wrapped) {
      const dtype = tensor.dtype;
      if (!isOrtType(dtype))
        throw new BackendError(
          `input '${inputName}': ${backend} cannot take ${dtype} tensors from JavaScript (it accepts ${[...ORT_JS_TYPES].join(', ')})`,
          { backend },
        );
      // A plain array: onnxruntime-node reads dims through N-API, which is slow on frozen arrays.
      wrapped = new TensorClass(dtype, tensor.data, tensor.dims.slice());
      wrappers.set(tensor, wrapped);
    }
    return wrapped;
  };
}

/**
 * onnxruntime tensor → core Tensor, keeping the runtime's typed array (no copy).
 *
 * @example
 * ```ts
 * const { logits } = await ortSession.run(feeds);
 * const t = tensorFromOrt(logits); // t.data === logits.data
 * ```
 */
export function tensorFromOrt(tensor: OrtTensor): Tensor {
  const dtype = tensor.type as DType;
  if (dtype === 'float16' && !(tensor.data instanceof Uint16Array)) {
    // Runtimes with a native Float16Array hand those out; keep float16 as raw bits like the rest of EdgeML.
    const src = tensor.data as ArrayBufferView;
    return Tensor.from('float16', tensor.dims, new Uint16Array(src.buffer, src.byteOffset, src.byteLength / 2));
  }
  return Tensor.from(dtype, tensor.dims, tensor.data);
}
