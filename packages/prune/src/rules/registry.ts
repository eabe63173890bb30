/** Which rule follows which op: the built-in table, keyed by core's OpName so a misspelt op fails to compile. */
import { opEntry, type Node, type OpName } from '@edgeml/core';
import { batchNormRule } from './batchnorm.js';
import { concatRule } from './concat.js';
import { convRule } from './conv.js';
import { elementwiseRule } from './elementwise.js';
import { flattenReshapeRule } from './flatten-reshape.js';
import { gemmMatMulRule } from './gemm-matmul.js';
import { padRule, passThroughRule } from './pass-through.js';
import type { ChannelRule } from './rule.js';
import { sliceRule, splitRule } from './split-slice.js';

const PASS_THROUGH: readonly OpName[] = [
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Sigmoid',
  'Tanh',
  'Clip',
  'HardSigmoid',
  'HardSwish',
  'Gelu',
  'Elu',
  'Selu',
  'Softplus',
  'Softsign',
  'Identity',
  'Dropout',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'LpPool',
  'Neg',
  'Abs',
  'Sqrt',
  'Exp',
  'Erf',
  'Mish',
  'Swish',
  'Cast',
];
const ELEMENTWISE: readonly OpName[] = ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean'];

/** The built-in rules; an op missing here freezes the channels it reads. */
export const DEFAULT_CHANNEL_RULES: Readonly<Partial<Record<OpName, ChannelRule>>> = {
  ...Object.fromEntries(PASS_THROUGH.map((op) => [op, passThroughRule])),
  ...Object.fromEntries(ELEMENTWISE.map((op) => [op, elementwiseRule])),
  Pad: padRule,
  Conv: convRule,
  Gemm: gemmMatMulRule,
  MatMul: gemmMatMulRule,
  BatchNormalization: batchNormRule,
  Concat: concatRule,
  Split: splitRule,
  Slice: sliceRule,
  Flatten: flattenReshapeRule,
  Reshape: flattenReshapeRule,
};

/** The built-in rule of a node; undefined for other domains and ops the table lacks. */
export const ruleOf = (node: Node): ChannelRule | undefined => opEntry(DEFAULT_CHANNEL_RULES, node);
