/**
 * @edgeml/core: what every other EdgeML package builds on — tensors for every ONNX element
 * type, the graph IR and its editing verbs, the lossless ONNX codec, passes (constant folding,
 * dead code, BatchNorm folding, fixed dimensions, shape inference, opset conversion,
 * exporter-idiom fusion and `simplify`), model statistics, the Backend contract and registry,
 * and typed errors. It has no runtime and touches no files, so
 * it runs in browsers and Node alike; model files are `@edgeml/core/node`'s.
 *
 * Build a model, simplify it, and write it as ONNX bytes:
 *
 * ```ts
 * import {
 *   Graph,
 *   Model,
 *   PassManager,
 *   Tensor,
 *   constantFolding,
 *   deadCodeElimination,
 *   decodeModel,
 *   encodeModel,
 *   inferShapes,
 *   modelStats,
 *   tensorType,
 * } from '@edgeml/core';
 *
 * // y = x · w + (b + b): the Add of two constants folds into one initializer.
 * const graph = new Graph('tiny');
 * const x = graph.addInput('x', tensorType('float32', ['batch', 2]));
 * const w = graph.addInitializer('w', Tensor.from('float32', [2, 2], [1, 0, 0, 1]));
 * const b = graph.addInitializer('b', Tensor.from('float32', [2], [0.25, 0.25]));
 * const xw = graph.op('MatMul', [x, w]).outputs[0];
 * const bias = graph.op('Add', [b, b]).outputs[0];
 * const y = graph.op('Add', [xw, bias], {}, { outputs: ['y'] }).outputs[0];
 * graph.outputs.push(y);
 * const model = new Model(graph, { opsetImports: new Map([['', 17]]) });
 *
 * inferShapes(model); // y: float32 [batch, 2]
 * await new PassManager([constantFolding(), deadCodeElimination()], { fixedPoint: true }).run(model);
 * console.log(modelStats(model).opCounts); // { MatMul: 1, Add: 1 }
 *
 * const bytes = encodeModel(model); // a .onnx file's bytes; decodeModel(bytes) reads them back, losslessly
 * console.log(decodeModel(bytes).graph.outputs[0].type); // { kind: 'tensor', dtype: 'float32', shape: ['batch', 2] }
 * ```
 *
 * Guide: [read, edit and write a model](../../../docs/guide.md#read-edit-and-write-a-model),
 * [optimize](../../../docs/guide.md#optimize), [simplify](../../../docs/guide.md#simplify-a-model), [run](../../../docs/guide.md#run) (the Backend
 * contract), [errors](../../../docs/guide.md#errors); the codec's speed:
 * [benchmarks](../../../docs/benchmarks.md#onnx-codec-benchcodecmjs).
 * @module
 */
export * from './errors.js';
export {
  type DType,
  type DTypeInfo,
  type DTypeStorage,
  type TypedArray,
  type TypedArrayCtor,
  ALL_DTYPES,
  dtypeInfo,
  dtypeFromOnnx,
  dtypeToOnnx,
  isDType,
  byteLengthOf,
  storageLengthOf,
} from './tensor/dtype.js';
export { ReadBuffer, Tensor, shapeSize, type ExternalDataInfo } from './tensor/tensor.js';
export { takeAlong, sliceAlong } from './tensor/take.js';
export { quantTensor, integerStorage, packNibbles, roundHalfEven, type QuantType } from './tensor/integer.js';
export * from './tensor/float16.js';
export { float8ToFloat32 } from './tensor/float8.js';
export {
  type Dim,
  type ValueType,
  type TensorType,
  type SequenceType,
  type MapType,
  type OptionalType,
  type SparseTensorType,
  type OpaqueType,
  tensorType,
  formatType,
} from './ir/types.js';
export { Value, type Use } from './ir/value.js';
export { Node, type NodeInit } from './ir/node.js';
export { type Attribute, type AttributeKind, type AttributeValueMap, type SparseTensor, attr } from './ir/attribute.js';
export { Graph, capturedInputs, type QuantizationAnnotation } from './ir/graph.js';
export { Model, type ModelFunction } from './ir/model.js';
export { NameAuthority } from './ir/names.js';
export {
  replaceNode,
  replaceSubgraph,
  insertOnEdge,
  eliminateNode,
  exposeOutputs,
  GraphBuilder,
  type InsertOnEdgeOptions,
  type EliminateNodeOptions,
  type ExposeOutputsOptions,
} from './ir/editing.js';
export { modelTensors, modelByteEstimate } from './ir/model-tensors.js';
export { decodeModel, type DecodeOptions } from './onnx/decode.js';
export { encodeModel, encodeModelChunks, encodedSize, type EncodeOptions } from './onnx/encode.js';
export { observeCodec, type CodecEvent } from './onnx/codec-events.js';
export {
  type ExternalDataRequest,
  type ExternalDataResolver,
  decodeTensor,
  encodeTensor,
} from './onnx/tensor-proto.js';
export {
  type Backend,
  type IntegerKernelTraits,
  type Session,
  type SessionOptions,
  type RunOptions,
  type ValueInfo,
} from './backend/contract.js';
export {
  BackendRegistry,
  backendRegistry,
  registerBackend,
  resolveBackend,
  type BackendFactory,
} from './backend/registry.js';
export { modelStats, nodeMacs, type ModelStats, type NodeMacs, type WeightLocations } from './stats.js';
export { modelFigures, compressedSize, type ModelFigures } from './figures.js';
export {
  FidelityAccumulator,
  measureFidelity,
  toleranceMismatch,
  editDistance,
  ONNX_TEST_RTOL,
  ONNX_TEST_ATOL,
  type Fidelity,
  type FidelityOptions,
} from './fidelity.js';
export { inferShapes, inferGraphShapes, type InferShapesOptions, type InferShapesResult } from './shape/infer.js';
export { broadcastShapes, mergeShapes } from './shape/dims.js';
export { evaluateNode, KERNELS as CONSTANT_KERNELS, type Kernel } from './ops/eval.js';
export {
  PassManager,
  PassContractError,
  type Pass,
  type PassResult,
  type PassManagerOptions,
  type PassManagerResult,
} from './passes/pass.js';
export { SchemeRegistry, type Scheme } from './passes/scheme.js';
export { deadCodeElimination, eliminateDeadCode } from './passes/dead-code.js';
export { identityElimination, eliminateIdentities } from './passes/identity.js';
export { constantFolding, foldConstants, type ConstantFoldingOptions } from './passes/constant-folding.js';
export { constantLifting, liftConstants, constantNodeValue } from './passes/lift-constants.js';
export { prepare, type PrepareNeeds, type PreparedStep, type PrepareResult } from './passes/prepare.js';
export { batchNormFolding, foldBatchNorms, type FoldedBatchNorm } from './passes/batchnorm-folding.js';
export { shapeInference } from './passes/shape-inference.js';
export { fixDimensions, fixDimensionsPass, fixInputShapes, freezeInputs } from './passes/fix-dims.js';
export { dedupeInitializers, initializerDeduplication, type DedupeResult } from './passes/dedupe-initializers.js';
export {
  activationFusion,
  normalizationFusion,
  convAffineFusion,
  transposeCancellation,
  applyRewrites,
  rewritePass,
  type Rewrite,
  type RewriteContext,
  type RewriteCounts,
} from './passes/fusion/index.js';
export {
  simplify,
  type SimplifyOptions,
  type SimplifyFigures,
  type SimplifyReport,
  type SimplifyResult,
} from './passes/simplify.js';
export {
  convertOpset,
  ensureOpset,
  opsetConversion,
  type ConvertOpsetOptions,
  type ConvertOpsetResult,
  type OpsetConversionStep,
} from './passes/opset/convert.js';
export { OP_VERSIONS, MIN_CONVERTIBLE_OPSET, MAX_CONVERTIBLE_OPSET } from './passes/opset/versions.js';
export type { ProtoMessage } from './onnx/schema.js';
export {
  decodeProto,
  defineProtoMessage,
  encodeProto,
  protoField,
  type ProtoFieldDesc,
  type ProtoFieldKind,
  type ProtoFieldOptions,
  type ProtoMessageDesc,
} from './onnx/proto-schema.js';
export {
  Op,
  OP_ATTRIBUTES,
  isOp,
  isDefaultDomain,
  opAttributes,
  type TypedOpName,
  type OpAttributes,
} from './ops/op-schema.js';
export { ONNX_OPS, isOpName, opEntry, type OpName } from './ops/op-names.js';
export { decodeNpy, encodeNpy } from './tensor/npy.js';
export {
  npySamples,
  imagePreprocessFor,
  decodedImageTensor,
  type SampleFile,
  type DecodedImage,
  type ImagePreprocess,
  type ImageSampleOptions,
} from './data/samples.js';
export { type ModelFormat, onnxFormat, formatForFile } from './model-format.js';
export { seededRandom } from './random.js';
