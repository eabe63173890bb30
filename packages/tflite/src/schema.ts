/**
 * The part of TFLite's flatbuffer schema the writer uses, declared once from
 * `tensorflow/compiler/mlir/lite/schema/schema.fbs` (file identifier "TFL3", schema version 3).
 * A table's fields are listed in schema order, deprecated and unused ones included, because a
 * field's vtable slot is its position in that order (a union field takes two: its type, then
 * its value). Enum values are the schema's.
 */

/** Scalar and reference kinds of table fields. */
export type FieldKind = 'bool' | 'byte' | 'ubyte' | 'int' | 'uint' | 'long' | 'ulong' | 'float' | 'ref';

export interface FieldDesc {
  readonly name: string;
  readonly kind: FieldKind;
  /** The schema's default: a scalar equal to it is not written. */
  readonly fallback: number;
}

export interface TableDesc {
  readonly name: string;
  readonly fields: readonly FieldDesc[];
  /** Slot of each field by name. */
  readonly slots: ReadonlyMap<string, number>;
}

function table(name: string, fields: [name: string, kind: FieldKind, fallback?: number][]): TableDesc {
  const described = fields.map(([field, kind, fallback]) => ({ name: field, kind, fallback: fallback ?? 0 }));
  return { name, fields: described, slots: new Map(described.map((f, i) => [f.name, i])) };
}

export const FILE_IDENTIFIER = 'TFL3';
export const SCHEMA_VERSION = 3;

/** `enum TensorType : byte`. */
export const TensorType = {
  FLOAT32: 0,
  FLOAT16: 1,
  INT32: 2,
  UINT8: 3,
  INT64: 4,
  STRING: 5,
  BOOL: 6,
  INT16: 7,
  COMPLEX64: 8,
  INT8: 9,
  FLOAT64: 10,
  COMPLEX128: 11,
  UINT64: 12,
  UINT32: 15,
  UINT16: 16,
} as const;
export type TensorTypeCode = (typeof TensorType)[keyof typeof TensorType];

/** `enum Padding : byte`. */
export const Padding = { SAME: 0, VALID: 1 } as const;

/** `enum ActivationFunctionType : byte`. */
export const Activation = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4 } as const;
export type ActivationCode = (typeof Activation)[keyof typeof Activation];

/** `enum MirrorPadMode : byte`. */
export const MirrorPadMode = { REFLECT: 0, SYMMETRIC: 1 } as const;

/**
 * `enum BuiltinOperator : int32`, the operators the writer emits. Codes ≥ 127
 * (PLACEHOLDER_FOR_GREATER_OP_CODES) exist only in `OperatorCode.builtin_code`.
 */
export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEPTH_TO_SPACE: 5,
  DEQUANTIZE: 6,
  FLOOR: 8,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU_N1_TO_1: 20,
  RELU6: 21,
  RESHAPE: 22,
  RESIZE_BILINEAR: 23,
  SOFTMAX: 25,
  SPACE_TO_DEPTH: 26,
  TANH: 28,
  PAD: 34,
  GATHER: 36,
  TRANSPOSE: 39,
  MEAN: 40,
  SUB: 41,
  DIV: 42,
  STRIDED_SLICE: 45,
  EXP: 47,
  SPLIT: 49,
  LOG_SOFTMAX: 50,
  CAST: 53,
  PRELU: 54,
  MAXIMUM: 55,
  ARG_MAX: 56,
  MINIMUM: 57,
  LESS: 58,
  NEG: 59,
  PADV2: 60,
  GREATER: 61,
  GREATER_EQUAL: 62,
  LESS_EQUAL: 63,
  SIN: 66,
  TRANSPOSE_CONV: 67,
  TILE: 69,
  EQUAL: 71,
  NOT_EQUAL: 72,
  LOG: 73,
  SUM: 74,
  SQRT: 75,
  RSQRT: 76,
  POW: 78,
  ARG_MIN: 79,
  REDUCE_PROD: 81,
  REDUCE_MAX: 82,
  LOGICAL_OR: 84,
  LOGICAL_AND: 86,
  LOGICAL_NOT: 87,
  REDUCE_MIN: 89,
  SQUARE: 92,
  RESIZE_NEAREST_NEIGHBOR: 97,
  LEAKY_RELU: 98,
  SQUARED_DIFFERENCE: 99,
  MIRROR_PAD: 100,
  ABS: 101,
  SPLIT_V: 102,
  CEIL: 104,
  COS: 108,
  ELU: 111,
  QUANTIZE: 114,
  ROUND: 116,
  HARD_SWISH: 117,
  IF: 118,
  WHILE: 119,
  SELECT_V2: 123,
  BATCH_MATMUL: 126,
  PLACEHOLDER_FOR_GREATER_OP_CODES: 127,
  BROADCAST_TO: 130,
  GELU: 150,
  SIGN: 158,
} as const;
export type BuiltinOperatorName = keyof typeof BuiltinOperator;

/**
 * Members of `union BuiltinOptions` the writer uses, by their union index (position in the
 * union, counted from 1; 0 is NONE).
 */
export const BuiltinOptionsType = {
  Conv2DOptions: 1,
  DepthwiseConv2DOptions: 2,
  Pool2DOptions: 5,
  FullyConnectedOptions: 8,
  SoftmaxOptions: 9,
  ConcatenationOptions: 10,
  AddOptions: 11,
  ReshapeOptions: 17,
  MulOptions: 21,
  PadOptions: 22,
  GatherOptions: 23,
  TransposeOptions: 26,
  ReducerOptions: 27,
  SubOptions: 28,
  DivOptions: 29,
  StridedSliceOptions: 32,
  SplitOptions: 35,
  CastOptions: 37,
  MaximumMinimumOptions: 39,
  PadV2Options: 43,
  TransposeConvOptions: 49,
  PowOptions: 56,
  ResizeNearestNeighborOptions: 74,
  LeakyReluOptions: 75,
  MirrorPadOptions: 77,
  SplitVOptions: 79,
  HardSwishOptions: 91,
  IfOptions: 92,
  WhileOptions: 93,
  BatchMatMulOptions: 101,
  GeluOptions: 116,
  ResizeBilinearOptions: 15,
  SpaceToDepthOptions: 19,
  ArgMaxOptions: 40,
  ArgMinOptions: 57,
  DepthToSpaceOptions: 94,
} as const;
export type BuiltinOptionsName = keyof typeof BuiltinOptionsType;

const fused: [string, FieldKind] = ['fused_activation_function', 'byte'];

/** Option tables, field lists as in the schema. */
export const OPTION_TABLES: Record<BuiltinOptionsName, TableDesc> = {
  Conv2DOptions: table('Conv2DOptions', [
    ['padding', 'byte'],
    ['stride_w', 'int'],
    ['stride_h', 'int'],
    fused,
    ['dilation_w_factor', 'int', 1],
    ['dilation_h_factor', 'int', 1],
    ['quantized_bias_type', 'byte'],
  ]),
  DepthwiseConv2DOptions: table('DepthwiseConv2DOptions', [
    ['padding', 'byte'],
    ['stride_w', 'int'],
    ['stride_h', 'int'],
    ['depth_multiplier', 'int'],
    fused,
    ['dilation_w_factor', 'int', 1],
    ['dilation_h_factor', 'int', 1],
  ]),
  Pool2DOptions: table('Pool2DOptions', [
    ['padding', 'byte'],
    ['stride_w', 'int'],
    ['stride_h', 'int'],
    ['filter_width', 'int'],
    ['filter_height', 'int'],
    fused,
  ]),
  FullyConnectedOptions: table('FullyConnectedOptions', [
    fused,
    ['weights_format', 'byte'],
    ['keep_num_dims', 'bool'],
    ['asymmetric_quantize_inputs', 'bool'],
    ['quantized_bias_type', 'byte'],
  ]),
  SoftmaxOptions: table('SoftmaxOptions', [['beta', 'float']]),
  ConcatenationOptions: table('ConcatenationOptions', [['axis', 'int'], fused]),
  AddOptions: table('AddOptions', [fused, ['pot_scale_int16', 'bool', 1]]),
  ReshapeOptions: table('ReshapeOptions', [['new_shape', 'ref']]),
  MulOptions: table('MulOptions', [fused]),
  PadOptions: table('PadOptions', []),
  GatherOptions: table('GatherOptions', [
    ['axis', 'int'],
    ['batch_dims', 'int'],
  ]),
  TransposeOptions: table('TransposeOptions', []),
  ReducerOptions: table('ReducerOptions', [['keep_dims', 'bool']]),
  SubOptions: table('SubOptions', [fused, ['pot_scale_int16', 'bool', 1]]),
  DivOptions: table('DivOptions', [fused]),
  StridedSliceOptions: table('StridedSliceOptions', [
    ['begin_mask', 'int'],
    ['end_mask', 'int'],
    ['ellipsis_mask', 'int'],
    ['new_axis_mask', 'int'],
    ['shrink_axis_mask', 'int'],
    ['offset', 'bool'],
  ]),
  SplitOptions: table('SplitOptions', [['num_splits', 'int']]),
  CastOptions: table('CastOptions', [
    ['in_data_type', 'byte'],
    ['out_data_type', 'byte'],
  ]),
  MaximumMinimumOptions: table('MaximumMinimumOptions', []),
  PadV2Options: table('PadV2Options', []),
  TransposeConvOptions: table('TransposeConvOptions', [
    ['padding', 'byte'],
    ['stride_w', 'int'],
    ['stride_h', 'int'],
    fused,
    ['quantized_bias_type', 'byte'],
  ]),
  PowOptions: table('PowOptions', []),
  ResizeBilinearOptions: table('ResizeBilinearOptions', [
    ['new_height', 'int'],
    ['new_width', 'int'],
    ['align_corners', 'bool'],
    ['half_pixel_centers', 'bool'],
  ]),
  ResizeNearestNeighborOptions: table('ResizeNearestNeighborOptions', [
    ['align_corners', 'bool'],
    ['half_pixel_centers', 'bool'],
  ]),
  LeakyReluOptions: table('LeakyReluOptions', [['alpha', 'float']]),
  MirrorPadOptions: table('MirrorPadOptions', [['mode', 'byte']]),
  SplitVOptions: table('SplitVOptions', [['num_splits', 'int']]),
  HardSwishOptions: table('HardSwishOptions', []),
  IfOptions: table('IfOptions', [
    ['then_subgraph_index', 'int'],
    ['else_subgraph_index', 'int'],
  ]),
  WhileOptions: table('WhileOptions', [
    ['cond_subgraph_index', 'int'],
    ['body_subgraph_index', 'int'],
  ]),
  BatchMatMulOptions: table('BatchMatMulOptions', [
    ['adj_x', 'bool'],
    ['adj_y', 'bool'],
    ['asymmetric_quantize_inputs', 'bool'],
  ]),
  GeluOptions: table('GeluOptions', [['approximate', 'bool']]),
  SpaceToDepthOptions: table('SpaceToDepthOptions', [['block_size', 'int']]),
  DepthToSpaceOptions: table('DepthToSpaceOptions', [['block_size', 'int']]),
  ArgMaxOptions: table('ArgMaxOptions', [['output_type', 'byte']]),
  ArgMinOptions: table('ArgMinOptions', [['output_type', 'byte']]),
};

/** The model's tables. */
export const ModelTable = table('Model', [
  ['version', 'uint'],
  ['operator_codes', 'ref'],
  ['subgraphs', 'ref'],
  ['description', 'ref'],
  ['buffers', 'ref'],
  ['metadata_buffer', 'ref'],
  ['metadata', 'ref'],
  ['signature_defs', 'ref'],
]);
export const OperatorCodeTable = table('OperatorCode', [
  ['deprecated_builtin_code', 'byte'],
  ['custom_code', 'ref'],
  ['version', 'int', 1],
  ['builtin_code', 'int'],
]);
export const SubGraphTable = table('SubGraph', [
  ['tensors', 'ref'],
  ['inputs', 'ref'],
  ['outputs', 'ref'],
  ['operators', 'ref'],
  ['name', 'ref'],
]);
export const TensorTable = table('Tensor', [
  ['shape', 'ref'],
  ['type', 'byte'],
  ['buffer', 'uint'],
  ['name', 'ref'],
  ['quantization', 'ref'],
  ['is_variable', 'bool'],
  ['sparsity', 'ref'],
  ['shape_signature', 'ref'],
  ['has_rank', 'bool'],
]);
export const QuantizationParametersTable = table('QuantizationParameters', [
  ['min', 'ref'],
  ['max', 'ref'],
  ['scale', 'ref'],
  ['zero_point', 'ref'],
  ['details_type', 'ubyte'],
  ['details', 'ref'],
  ['quantized_dimension', 'int'],
]);
export const OperatorTable = table('Operator', [
  ['opcode_index', 'uint'],
  ['inputs', 'ref'],
  ['outputs', 'ref'],
  ['builtin_options_type', 'ubyte'],
  ['builtin_options', 'ref'],
  ['custom_options', 'ref'],
  ['custom_options_format', 'byte'],
  ['mutating_variable_inputs', 'ref'],
  ['intermediates', 'ref'],
]);
export const BufferTable = table('Buffer', [
  ['data', 'ref'],
  ['offset', 'ulong'],
  ['size', 'ulong'],
]);
export const TensorMapTable = table('TensorMap', [
  ['name', 'ref'],
  ['tensor_index', 'uint'],
]);
export const SignatureDefTable = table('SignatureDef', [
  ['inputs', 'ref'],
  ['outputs', 'ref'],
  ['signature_key', 'ref'],
  ['deprecated_tag', 'ref'],
  ['subgraph_index', 'uint'],
]);
export const MetadataTable = table('Metadata', [
  ['name', 'ref'],
  ['buffer', 'uint'],
]);
