/**
 * onnx.proto, declared once as field tables (numbers and kinds from the official schema,
 * IR version 11). The generic codec in proto-codec.ts reads and writes any message from
 * these tables; fields not declared here (newer additions) are kept as raw bytes and
 * written back unchanged, so nothing is lost in a round trip.
 */

/** A field's protobuf type; `sint64` is zigzag-encoded, `bool` a 0/1 varint (neither occurs in onnx.proto). */
export type FieldKind =
  'int64' | 'int32' | 'uint64' | 'sint64' | 'bool' | 'float' | 'double' | 'string' | 'bytes' | 'message';

export interface FieldDesc {
  readonly no: number;
  readonly name: string;
  readonly kind: FieldKind;
  readonly repeated: boolean;
  /** Written packed (proto2 `[packed = true]`); both forms are always accepted on read. */
  readonly packed: boolean;
  /**
   * Repeated numeric field decoded into a typed array (tensor payloads) rather than number[];
   * on a singular 64-bit field, decoded as an exact bigint rather than a number.
   */
  readonly typed: boolean;
  readonly message?: () => MessageDesc;
}

export interface MessageDesc {
  readonly name: string;
  readonly fields: readonly FieldDesc[];
  /** Field lookup by number (sparse array). */
  readonly byNo: readonly (FieldDesc | undefined)[];
}

/** A decoded message: declared fields by name, plus fields this schema does not know, verbatim. */
export interface ProtoMessage {
  [field: string]: unknown;
  $unknown?: Uint8Array[];
}

type Opt = { repeated?: boolean; packed?: boolean; typed?: boolean };

function msg(name: string, fields: FieldDesc[]): MessageDesc {
  const byNo: (FieldDesc | undefined)[] = [];
  for (const f of fields) byNo[f.no] = f;
  return { name, fields, byNo };
}

function f(no: number, name: string, kind: FieldKind, opt: Opt = {}, message?: () => MessageDesc): FieldDesc {
  return { no, name, kind, repeated: !!opt.repeated, packed: !!opt.packed, typed: !!opt.typed, message };
}
const R = { repeated: true };
const m = (no: number, name: string, type: () => MessageDesc, repeated = false) =>
  f(no, name, 'message', { repeated }, type);

export const StringStringEntry: MessageDesc = msg('StringStringEntryProto', [
  f(1, 'key', 'string'),
  f(2, 'value', 'string'),
]);

export const OperatorSetId: MessageDesc = msg('OperatorSetIdProto', [
  f(1, 'domain', 'string'),
  f(2, 'version', 'int64'),
]);

export const TensorShapeDimension: MessageDesc = msg('TensorShapeProto.Dimension', [
  f(1, 'dimValue', 'int64'),
  f(2, 'dimParam', 'string'),
  f(3, 'denotation', 'string'),
]);
export const TensorShape: MessageDesc = msg('TensorShapeProto', [m(1, 'dim', () => TensorShapeDimension, true)]);

export const TypeTensor: MessageDesc = msg('TypeProto.Tensor', [
  f(1, 'elemType', 'int32'),
  m(2, 'shape', () => TensorShape),
]);
export const TypeSequence: MessageDesc = msg('TypeProto.Sequence', [m(1, 'elemType', () => TypeProtoDesc)]);
export const TypeMap: MessageDesc = msg('TypeProto.Map', [
  f(1, 'keyType', 'int32'),
  m(2, 'valueType', () => TypeProtoDesc),
]);
export const TypeOptional: MessageDesc = msg('TypeProto.Optional', [m(1, 'elemType', () => TypeProtoDesc)]);
export const TypeOpaque: MessageDesc = msg('TypeProto.Opaque', [f(1, 'domain', 'string'), f(2, 'name', 'string')]);
export const TypeProtoDesc: MessageDesc = msg('TypeProto', [
  m(1, 'tensorType', () => TypeTensor),
  m(4, 'sequenceType', () => TypeSequence),
  m(5, 'mapType', () => TypeMap),
  f(6, 'denotation', 'string'),
  m(7, 'opaqueType', () => TypeOpaque),
  m(8, 'sparseTensorType', () => TypeTensor),
  m(9, 'optionalType', () => TypeOptional),
]);

export const TensorSegment: MessageDesc = msg('TensorProto.Segment', [f(1, 'begin', 'int64'), f(2, 'end', 'int64')]);
export const TensorProtoDesc: MessageDesc = msg('TensorProto', [
  f(1, 'dims', 'int64', R),
  f(2, 'dataType', 'int32'),
  m(3, 'segment', () => TensorSegment),
  f(4, 'floatData', 'float', { repeated: true, packed: true, typed: true }),
  f(5, 'int32Data', 'int32', { repeated: true, packed: true, typed: true }),
  f(6, 'stringData', 'bytes', R),
  f(7, 'int64Data', 'int64', { repeated: true, packed: true, typed: true }),
  f(8, 'name', 'string'),
  f(9, 'rawData', 'bytes'),
  f(10, 'doubleData', 'double', { repeated: true, packed: true, typed: true }),
  f(11, 'uint64Data', 'uint64', { repeated: true, packed: true, typed: true }),
  f(12, 'docString', 'string'),
  m(13, 'externalData', () => StringStringEntry, true),
  f(14, 'dataLocation', 'int32'),
  m(16, 'metadataProps', () => StringStringEntry, true),
]);

export const SparseTensorProtoDesc: MessageDesc = msg('SparseTensorProto', [
  m(1, 'values', () => TensorProtoDesc),
  m(2, 'indices', () => TensorProtoDesc),
  f(3, 'dims', 'int64', R),
]);

export const AttributeProtoDesc: MessageDesc = msg('AttributeProto', [
  f(1, 'name', 'string'),
  f(2, 'f', 'float'),
  f(3, 'i', 'int64'),
  f(4, 's', 'bytes'),
  m(5, 't', () => TensorProtoDesc),
  m(6, 'g', () => GraphProtoDesc),
  f(7, 'floats', 'float', R),
  f(8, 'ints', 'int64', R),
  f(9, 'strings', 'bytes', R),
  m(10, 'tensors', () => TensorProtoDesc, true),
  m(11, 'graphs', () => GraphProtoDesc, true),
  f(13, 'docString', 'string'),
  m(14, 'tp', () => TypeProtoDesc),
  m(15, 'typeProtos', () => TypeProtoDesc, true),
  f(20, 'type', 'int32'),
  f(21, 'refAttrName', 'string'),
  m(22, 'sparseTensor', () => SparseTensorProtoDesc),
  m(23, 'sparseTensors', () => SparseTensorProtoDesc, true),
]);

export const ValueInfoProtoDesc: MessageDesc = msg('ValueInfoProto', [
  f(1, 'name', 'string'),
  m(2, 'type', () => TypeProtoDesc),
  f(3, 'docString', 'string'),
  m(4, 'metadataProps', () => StringStringEntry, true),
]);

export const NodeProtoDesc: MessageDesc = msg('NodeProto', [
  f(1, 'input', 'string', R),
  f(2, 'output', 'string', R),
  f(3, 'name', 'string'),
  f(4, 'opType', 'string'),
  m(5, 'attribute', () => AttributeProtoDesc, true),
  f(6, 'docString', 'string'),
  f(7, 'domain', 'string'),
  f(8, 'overload', 'string'),
  m(9, 'metadataProps', () => StringStringEntry, true),
]);

export const TensorAnnotationDesc: MessageDesc = msg('TensorAnnotation', [
  f(1, 'tensorName', 'string'),
  m(2, 'quantParameterTensorNames', () => StringStringEntry, true),
]);

export const GraphProtoDesc: MessageDesc = msg('GraphProto', [
  m(1, 'node', () => NodeProtoDesc, true),
  f(2, 'name', 'string'),
  m(5, 'initializer', () => TensorProtoDesc, true),
  f(10, 'docString', 'string'),
  m(11, 'input', () => ValueInfoProtoDesc, true),
  m(12, 'output', () => ValueInfoProtoDesc, true),
  m(13, 'valueInfo', () => ValueInfoProtoDesc, true),
  m(14, 'quantizationAnnotation', () => TensorAnnotationDesc, true),
  m(15, 'sparseInitializer', () => SparseTensorProtoDesc, true),
  m(16, 'metadataProps', () => StringStringEntry, true),
]);

export const TrainingInfoProtoDesc: MessageDesc = msg('TrainingInfoProto', [
  m(1, 'initialization', () => GraphProtoDesc),
  m(2, 'algorithm', () => GraphProtoDesc),
  m(3, 'initializationBinding', () => StringStringEntry, true),
  m(4, 'updateBinding', () => StringStringEntry, true),
]);

export const FunctionProtoDesc: MessageDesc = msg('FunctionProto', [
  f(1, 'name', 'string'),
  f(4, 'input', 'string', R),
  f(5, 'output', 'string', R),
  f(6, 'attribute', 'string', R),
  m(7, 'node', () => NodeProtoDesc, true),
  f(8, 'docString', 'string'),
  m(9, 'opsetImport', () => OperatorSetId, true),
  f(10, 'domain', 'string'),
  m(11, 'attributeProto', () => AttributeProtoDesc, true),
  m(12, 'valueInfo', () => ValueInfoProtoDesc, true),
  f(13, 'overload', 'string'),
  m(14, 'metadataProps', () => StringStringEntry, true),
]);

export const ModelProtoDesc: MessageDesc = msg('ModelProto', [
  f(1, 'irVersion', 'int64'),
  f(2, 'producerName', 'string'),
  f(3, 'producerVersion', 'string'),
  f(4, 'domain', 'string'),
  f(5, 'modelVersion', 'int64'),
  f(6, 'docString', 'string'),
  m(7, 'graph', () => GraphProtoDesc),
  m(8, 'opsetImport', () => OperatorSetId, true),
  m(14, 'metadataProps', () => StringStringEntry, true),
  m(20, 'trainingInfo', () => TrainingInfoProtoDesc, true),
  m(25, 'functions', () => FunctionProtoDesc, true),
]);

/** AttributeProto.AttributeType codes. */
export const AttributeTypeCode = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;
