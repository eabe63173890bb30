import * as ort from 'onnxruntime-node';
import { BackendError, Tensor, type DType } from '@edgeml/core';

/** Element types onnxruntime's JS API can carry. */
const ORT_TYPES = new Set<string>(['float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool', 'float16', 'float64', 'uint32', 'uint64', 'int4', 'uint4']);

// A Tensor's dims and buffer never change, so its ort.Tensor wrapper can be reused: feeding the
// same inputs again (benchmarks, streaming state) then costs no allocation. In-place edits of
// the typed array still reach onnxruntime, which reads the same buffer.
const wrappers = new WeakMap<Tensor, ort.Tensor>();

/** core Tensor → ort.Tensor, sharing the typed array (no copy). */
export function toOrtTensor(t: Tensor, inputName: string): ort.Tensor {
  let wrapped = wrappers.get(t);
  if (!wrapped) {
    wrapped = wrapTensor(t, inputName);
    wrappers.set(t, wrapped);
  }
  return wrapped;
}

function wrapTensor(t: Tensor, inputName: string): ort.Tensor {
  if (!ORT_TYPES.has(t.dtype)) throw new BackendError(`input '${inputName}': onnxruntime-node cannot take ${t.dtype} tensors from JavaScript (it accepts ${[...ORT_TYPES].join(', ')})`, { backend: 'onnxruntime-node' });
  // A plain array: onnxruntime reads dims through N-API, which is slow on frozen arrays.
  return new ort.Tensor(t.dtype as ort.Tensor.Type, t.data as never, t.dims.slice());
}

/** ort.Tensor → core Tensor, keeping ORT's typed array (no copy). */
export function fromOrtTensor(t: ort.Tensor): Tensor {
  const dtype = t.type as DType;
  if (dtype === 'float16' && !(t.data instanceof Uint16Array)) {
    // Runtimes with a native Float16Array hand those out; keep float16 as raw bits like the rest of EdgeML.
    const src = t.data as unknown as ArrayBufferView;
    return Tensor.from('float16', t.dims, new Uint16Array(src.buffer, src.byteOffset, src.byteLength / 2));
  }
  return Tensor.from(dtype, t.dims, t.data as never);
}
