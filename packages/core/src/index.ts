/**
 * @edgeml/core: tensors, the graph IR, the ONNX codec, passes, statistics, the backend
 * contract and registry, and typed errors. No runtime or training dependency.
 * File I/O lives in '@edgeml/core/node'.
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
export { Tensor, shapeSize, type ExternalDataInfo } from './tensor/tensor.js';
export { takeAlong, sliceAlong } from './tensor/take.js';
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
export { modelStats, nodeMacs, type ModelStats, type NodeMacs } from './stats.js';
export { modelFigures, compressedSize, type ModelFigures } from './figures.js';
export {
  FidelityAccumulator,
  measureFidelity,
  toleranceMismatch,
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
export { batchNormFolding, foldBatchNorms } from './passes/batchnorm-folding.js';
export { shapeInference } from './passes/shape-inference.js';
export { fixDimensions, fixDimensionsPass, freezeInputs } from './passes/fix-dims.js';
export type { ProtoMessage } from './onnx/schema.js';
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
export { seededRandom } from './random.js';
