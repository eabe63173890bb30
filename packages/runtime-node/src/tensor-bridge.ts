import * as ort from 'onnxruntime-node';
import { ortTensorConverter, tensorFromOrt } from '@edgeml/runtime-ort';
import type { Tensor } from '@edgeml/core';

/** core Tensor → ort.Tensor, sharing the typed array (no copy; one wrapper per Tensor). */
export const toOrtTensor: (t: Tensor, inputName: string) => ort.Tensor = ortTensorConverter(
  'onnxruntime-node',
  ort.Tensor,
);

/** ort.Tensor → core Tensor, keeping ORT's typed array (no copy). */
export const fromOrtTensor: (t: ort.Tensor) => Tensor = tensorFromOrt;
