/**
 * Model statistics: parameters, op histogram, multiply-accumulates.
 */
import { isDefaultDomain } from './ops/op-schema.js';
import type { Model } from './ir/model.js';
import type { Graph } from './ir/graph.js';
import type { Node } from './ir/node.js';
import type { Dim } from './ir/types.js';
import { constantNodeValue } from './passes/lift-constants.js';

export interface NodeMacs {
  node: string;
  opType: string;
  macs: number;
}

export interface ModelStats {
  /** Elements in all initializers and `Constant` nodes (main graph and subgraphs). */
  parameters: number;
  /** Bytes of initializer and `Constant` node data (external included). */
  parameterBytes: number;
  /** Where the model keeps those parameters (exporters differ). */
  weights: WeightLocations;
  /** Node count in the main graph. */
  nodeCount: number;
  /** Node count including subgraphs. */
  totalNodeCount: number;
  /** Nodes per op type ("domain.Op" outside the default domain), all graphs. */
  opCounts: Record<string, number>;
  /** Total MACs of Conv/ConvTranspose/Gemm/MatMul nodes with fully known shapes (an If's costlier branch included). */
  macs: number;
  /** Per-node MACs, in graph order. */
  nodeMacs: NodeMacs[];
  /** Conv/Gemm/MatMul nodes whose MACs could not be counted (a shape was not known). */
  macsUnknown: string[];
}

/** Tensors (and their elements) by where the model stores them. */
export interface WeightLocations {
  /** Initializers of the main graph. */
  initializers: { tensors: number; elements: number };
  /** Initializers of If/Loop/Scan bodies. */
  subgraphInitializers: { tensors: number; elements: number };
  /** `Constant` nodes, in any graph (paddle2onnx, spox and some PyTorch exports store weights so). */
  constantNodes: { tensors: number; elements: number };
  /** Constants read through a `Cast` (e.g. float16 weights widened at run time). */
  behindCast: number;
  /** Constants read through a `DequantizeLinear` (weights already quantized). */
  behindDequantize: number;
}

const known = (s: readonly Dim[] | undefined): s is number[] => !!s && s.every((d) => typeof d === 'number' && d >= 0);
const prod = (a: readonly number[]) => a.reduce((x, y) => x * y, 1);

/** MACs of one node from its input/output shapes, or undefined when a shape is unknown. */
export function nodeMacs(node: Node): number | undefined {
  const inShape = (i: number) => node.inputs[i]?.shape;
  const outShape = node.outputs[0]?.shape;
  switch (isDefaultDomain(node) ? node.opType : '') {
    case 'Conv':
    case 'ConvInteger': {
      const w = inShape(1);
      if (!known(w) || !known(outShape)) return undefined;
      return prod(outShape) * prod(w.slice(1));
    }
    case 'ConvTranspose': {
      const x = inShape(0),
        w = inShape(1);
      if (!known(x) || !known(w)) return undefined;
      return prod(x) * prod(w.slice(1));
    }
    case 'Gemm': {
      const a = inShape(0);
      if (!known(a) || !known(outShape)) return undefined;
      const k = node.attr('transA', 'int', 0) ? a[0] : a[1];
      return prod(outShape) * k;
    }
    case 'MatMul':
    case 'MatMulInteger': {
      const a = inShape(0);
      if (!known(a) || !known(outShape)) return undefined;
      return prod(outShape) * a[a.length - 1];
    }
    default:
      return undefined;
  }
}

const MAC_OPS = new Set(['Conv', 'ConvInteger', 'ConvTranspose', 'Gemm', 'MatMul', 'MatMulInteger']);

/**
 * Count parameters, ops and MACs. MACs need shapes: run `inferShapes(model)` first (the
 * CLI does) so intermediate values carry them.
 *
 * @example
 * ```ts
 * inferShapes(model);
 * const { parameters, macs, opCounts } = modelStats(model);
 * ```
 */
export function modelStats(model: Model): ModelStats {
  const stats: ModelStats = {
    parameters: 0,
    parameterBytes: 0,
    nodeCount: model.graph.size,
    totalNodeCount: 0,
    opCounts: {},
    macs: 0,
    nodeMacs: [],
    macsUnknown: [],
    weights: {
      initializers: { tensors: 0, elements: 0 },
      subgraphInitializers: { tensors: 0, elements: 0 },
      constantNodes: { tensors: 0, elements: 0 },
      behindCast: 0,
      behindDequantize: 0,
    },
  };
  for (const g of model.graphs()) {
    const where = g === model.graph ? stats.weights.initializers : stats.weights.subgraphInitializers;
    for (const v of g.initializers.values()) {
      stats.parameters += v.const!.size;
      stats.parameterBytes += v.const!.byteLength;
      where.tensors++;
      where.elements += v.const!.size;
    }
    for (const n of g) {
      stats.totalNodeCount++;
      const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
      stats.opCounts[key] = (stats.opCounts[key] ?? 0) + 1;
      countWeightSource(n, stats);
    }
  }
  const counted = graphMacs(model.graph);
  stats.macs = counted.macs;
  stats.nodeMacs = counted.nodeMacs;
  stats.macsUnknown = counted.macsUnknown;
  return stats;
}

type MacCount = Pick<ModelStats, 'macs' | 'nodeMacs' | 'macsUnknown'>;

/**
 * MACs of one run of `graph`. An If runs one branch: the costlier one counts (an upper bound);
 * Loop and Scan bodies run a number of times only known at run time, so they are not counted.
 */
function graphMacs(graph: Graph): MacCount {
  const count: MacCount = { macs: 0, nodeMacs: [], macsUnknown: [] };
  for (const n of graph) {
    if (n.opType === 'If' && isDefaultDomain(n)) {
      const branches = n.subgraphs().map(graphMacs);
      const costlier = branches.reduce((a, b) => (b.macs > a.macs ? b : a), { macs: 0, nodeMacs: [], macsUnknown: [] });
      count.macs += costlier.macs;
      count.nodeMacs.push(...costlier.nodeMacs);
      count.macsUnknown.push(...costlier.macsUnknown);
      continue;
    }
    if (!MAC_OPS.has(n.opType)) continue;
    const macs = nodeMacs(n);
    if (macs === undefined) {
      count.macsUnknown.push(n.name || n.opType);
      continue;
    }
    count.macs += macs;
    count.nodeMacs.push({ node: n.name, opType: n.opType, macs });
  }
  return count;
}

/** A node's share of the weight census: a Constant's value, or a constant read through Cast/DequantizeLinear. */
function countWeightSource(n: Node, stats: ModelStats): void {
  if (!isDefaultDomain(n)) return;
  if (n.opType === 'Constant') {
    const t = constantNodeValue(n);
    if (!t) return;
    stats.parameters += t.size;
    stats.parameterBytes += t.byteLength;
    stats.weights.constantNodes.tensors++;
    stats.weights.constantNodes.elements += t.size;
    return;
  }
  const source = n.inputs[0];
  const constant = !!source?.const || source?.producer()?.opType === 'Constant';
  if (!constant) return;
  if (n.opType === 'Cast') stats.weights.behindCast++;
  else if (n.opType === 'DequantizeLinear') stats.weights.behindDequantize++;
}
