/**
 * @edgeml/tflite: ONNX models written as TensorFlow Lite flatbuffers, in TypeScript. The model
 * is simplified (constants folded with static shapes, BatchNorm folded into Convs), lowered to
 * TFLite builtin operators in NHWC — weights permuted at export time, depthwise and grouped
 * convolutions, asymmetric padding as an explicit PAD, Relu/Relu6 fused into the op before —
 * and layouts change only where an op needs it, so a CNN's .tflite has transposes at its edges
 * only (none with `ioLayout: 'nhwc'`). If becomes TFLite's IF with its branches as subgraphs
 * (or folds to the branch taken when `specialize` fixes the input it tests), Loop TFLite's WHILE;
 * LSTM, GRU and RNN are unrolled over their static sequence length. An op TFLite cannot express
 * is an `UnsupportedOpError` naming the op and the node.
 *
 * ```ts
 * import { loadModel } from '@edgeml/core/node';
 * import { exportTflite } from '@edgeml/tflite';
 *
 * const model = await loadModel('mobilenet.onnx');
 * const { bytes, report } = await exportTflite(model, { shapes: { input: [1, 3, 224, 224] }, ioLayout: 'nhwc' });
 * console.log(report.opCounts, report.transposes); // { CONV_2D: …, DEPTHWISE_CONV_2D: …, … } 0
 * ```
 *
 * Guide: [export to TFLite](../../../docs/guide.md#export-to-tflite).
 * @module
 */
export {
  exportTflite,
  TFLITE_QUANTIZATIONS,
  TFLITE_IO_LAYOUTS,
  type TfliteExportQuantization,
  type TfliteIoLayout,
  type TfliteExportOptions,
  type TfliteExportReport,
  type TfliteExportResult,
  type TfliteIo,
} from './export.js';
export { tfliteFormat } from './format.js';
export { EDGE_TPU_OPERATORS, type EdgeTpuReport, type EdgeTpuRequirement } from './edge-tpu.js';
export { TFLITE_IO_TYPES, INT8_OPERATORS, type TfliteIoType } from './full-integer.js';
export { nchwToNhwc, nhwcToNchw } from './io-layout.js';
export { checkFullIntegerControlFlow } from './int8-control-flow.js';
