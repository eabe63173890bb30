import * as ort from 'onnxruntime-web';
import { ortTensorConverter } from '@edgeml/runtime-ort';
import type { Tensor } from '@edgeml/core';

/** core Tensor → onnxruntime-web Tensor, sharing the typed array (no copy; one wrapper per Tensor). */
export const toWebTensor: (t: Tensor, inputName: string) => ort.Tensor = ortTensorConverter(
  'onnxruntime-web',
  ort.Tensor,
);
