/**
 * Which rule follows which op: the built-in table, keyed by core's OpName so a misspelt op fails
 * to compile, and the rules a caller adds for ops it lacks (custom domains included).
 */
import { InvalidArgumentError, isDefaultDomain, opEntry, type Node, type OpName } from '@edgeml/core';
import { batchNormRule } from './batchnorm.js';
import { concatRule } from './concat.js';
import { convRule } from './conv.js';
import { elementwiseRule } from './elementwise.js';
import { flattenReshapeRule } from './flatten-reshape.js';
import { gemmMatMulRule } from './gemm-matmul.js';
import { layerNormRule } from './layernorm.js';
import { padRule, passThroughRule } from './pass-through.js';
import type { ChannelRule } from './rule.js';
import { sliceRule, splitRule } from './split-slice.js';

const PASS_THROUGH: readonly OpName[] = [
  'Relu',
  'LeakyRelu',
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
// PRelu's slope broadcasts like a second operand, so a per-channel slope loses channels too.
const ELEMENTWISE: readonly OpName[] = ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean', 'PRelu'];

/** The built-in rules; an op missing here freezes the channels it reads. */
export const DEFAULT_CHANNEL_RULES: Readonly<Partial<Record<OpName, ChannelRule>>> = {
  ...Object.fromEntries(PASS_THROUGH.map((op) => [op, passThroughRule])),
  ...Object.fromEntries(ELEMENTWISE.map((op) => [op, elementwiseRule])),
  Pad: padRule,
  Conv: convRule,
  Gemm: gemmMatMulRule,
  MatMul: gemmMatMulRule,
  BatchNormalization: batchNormRule,
  LayerNormalization: layerNormRule,
  Concat: concatRule,
  Split: splitRule,
  Slice: sliceRule,
  Flatten: flattenReshapeRule,
  Reshape: flattenReshapeRule,
};

/**
 * A rule for an op the analysis does not know, or one that replaces a built-in rule.
 *
 * @example
 * ```ts
 * const rules: CustomChannelRule[] = [
 *   { opType: 'Celu', rule: passThroughRule }, // a default-domain activation
 *   { opType: 'QuickGelu', domain: 'com.microsoft', rule: passThroughRule }, // one input, one output
 * ];
 * ```
 */
export interface CustomChannelRule {
  /** The node's op type, e.g. `'Celu'` or a custom op's name. */
  opType: string;
  /** The op's domain: `''` (the default ONNX domain, also spelled `'ai.onnx'`) unless given. */
  domain?: string;
  rule: ChannelRule;
}

/** The rule of a node: a custom rule first, then the built-in table (default domain only). */
export type RuleLookup = (node: Node) => ChannelRule | undefined;

const keyOf = (opType: string, domain: string) => `${isDefaultDomain(domain) ? '' : domain}\u0000${opType}`;

/**
 * The lookup over the built-in rules and `custom`, which win over built-in ones. A malformed or
 * repeated entry is an InvalidArgumentError naming it.
 */
export function ruleLookup(custom: readonly CustomChannelRule[] = []): RuleLookup {
  const table = new Map<string, ChannelRule>();
  custom.forEach((entry, i) => {
    const where = `rules[${i}]`;
    if (typeof entry?.opType !== 'string' || !entry.opType)
      throw new InvalidArgumentError(`${where}.opType must be a non-empty op name`, 'rules');
    if (typeof entry.rule?.propagate !== 'function')
      throw new InvalidArgumentError(`${where}.rule must have a propagate(node, context) method`, 'rules');
    const key = keyOf(entry.opType, entry.domain ?? '');
    if (table.has(key))
      throw new InvalidArgumentError(
        `${where} repeats the rule for ${entry.opType}${entry.domain ? ` (domain ${entry.domain})` : ''}`,
        'rules',
      );
    table.set(key, entry.rule);
  });
  return (node) => table.get(keyOf(node.opType, node.domain)) ?? opEntry(DEFAULT_CHANNEL_RULES, node);
}
