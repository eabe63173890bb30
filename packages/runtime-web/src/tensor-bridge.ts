import * as ort from 'onnxruntime-web';
import { ortTensorConverter, type Tensor } from '@edgeml/core';

/** core Tensor → onnxruntime-web Tensor, sharing the typed array (no copy; one wrapper per Tensor). */
export const toWebTensor: (t: Tensor, inputName: string) => ort.Tensor = ortTensorConverter(
  'onnxruntime-web',
  (type, data, dims) => new ort.Tensor(type as ort.Tensor.Type, data as never, dims),
);
