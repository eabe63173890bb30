/** Which function lowers each default-domain ONNX op. */
import type { Node } from '@edgeml/core';
import type { ExportContext } from '../context.js';
import { lowerConv, lowerConvTranspose } from './conv.js';
import { lowerConstant, lowerIf } from './control-flow.js';
import { lowerLoop } from './loop.js';
import { lowerRecurrent } from './recurrent.js';
import {
  lowerBatchNorm,
  lowerBinary,
  lowerClip,
  lowerIdentity,
  lowerPRelu,
  lowerReciprocal,
  lowerHardSigmoid,
  lowerSoftmax,
  lowerUnary,
  lowerWhere,
} from './elementwise.js';
import { lowerGemm, lowerMatMul } from './matmul.js';
import { lowerGlobalPool, lowerPool } from './pool.js';
import { lowerResize } from './resize.js';
import { lowerInstanceNorm, lowerLayerNorm } from './normalization.js';
import {
  lowerArgReduce,
  lowerDepthSpace,
  lowerExpand,
  lowerTile,
  lowerCast,
  lowerConcat,
  lowerGather,
  lowerPad,
  lowerReduce,
  lowerReshape,
  lowerSlice,
  lowerSplit,
  lowerTranspose,
} from './shape.js';

export type Lowering = (node: Node, ctx: ExportContext) => void;

const each = (ops: string[], lowering: Lowering) => Object.fromEntries(ops.map((op) => [op, lowering]));

/** The ONNX ops the exporter writes, and how. */
export const LOWERINGS: Readonly<Record<string, Lowering>> = {
  Conv: lowerConv,
  ConvTranspose: lowerConvTranspose,
  MaxPool: lowerPool,
  AveragePool: lowerPool,
  GlobalAveragePool: lowerGlobalPool,
  GlobalMaxPool: lowerGlobalPool,
  Gemm: lowerGemm,
  MatMul: lowerMatMul,
  ...each(
    ['Relu', 'Sigmoid', 'Tanh', 'HardSwish', 'Exp', 'Log', 'Abs', 'Neg', 'Sqrt', 'Floor', 'Ceil', 'Sin', 'Cos'],
    lowerUnary,
  ),
  ...each(['Round', 'Sign', 'Elu', 'Gelu', 'LeakyRelu', 'Not'], lowerUnary),
  Reciprocal: lowerReciprocal,
  HardSigmoid: lowerHardSigmoid,
  LayerNormalization: lowerLayerNorm,
  InstanceNormalization: lowerInstanceNorm,
  ...each(['Identity', 'Dropout'], lowerIdentity),
  Clip: lowerClip,
  PRelu: lowerPRelu,
  ...each(['Softmax', 'LogSoftmax'], lowerSoftmax),
  BatchNormalization: lowerBatchNorm,
  ...each(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min'], lowerBinary),
  ...each(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor'], lowerBinary),
  Where: lowerWhere,
  ...each(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'], lowerReshape),
  Transpose: lowerTranspose,
  Concat: lowerConcat,
  Slice: lowerSlice,
  Split: lowerSplit,
  Gather: lowerGather,
  Pad: lowerPad,
  Cast: lowerCast,
  ...each(['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSum', 'ReduceProd'], lowerReduce),
  ...each(['Resize', 'Upsample'], lowerResize),
  ...each(['DepthToSpace', 'SpaceToDepth'], lowerDepthSpace),
  ...each(['ArgMax', 'ArgMin'], lowerArgReduce),
  Tile: lowerTile,
  Expand: lowerExpand,
  If: lowerIf,
  Loop: lowerLoop,
  Constant: lowerConstant,
  ...each(['LSTM', 'GRU', 'RNN'], lowerRecurrent),
};
