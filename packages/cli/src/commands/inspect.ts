import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatType, inferShapes, modelStats, type Model, type Value } from '@edgeml/core';
import { loadModel, modelTensors } from '@edgeml/core/node';
import type { Command } from '../command.js';
import { UsageError } from '../cli-error.js';
import { defaultModelPath } from '../default-model.js';

/** The JSON document `edgeml inspect --json` prints. */
export interface InspectResult {
  file: string;
  irVersion: number;
  opsetImports: { domain: string; version: number }[];
  producer: { name: string; version: string };
  inputs: { name: string; dtype: string | null; shape: (number | string | null)[] | null }[];
  outputs: { name: string; dtype: string | null; shape: (number | string | null)[] | null }[];
  nodeCount: number;
  totalNodeCount: number;
  opCounts: Record<string, number>;
  parameters: number;
  parameterBytes: number;
  /** Model file plus its external data files. */
  sizeBytes: number;
  externalDataFiles: string[];
  /** Total MACs over Conv/Gemm/MatMul nodes whose shapes are known; null if none are. */
  macs: number | null;
  macsUnknownNodes: string[];
  metadata: Record<string, string>;
}

function io(v: Value) {
  const t = v.type;
  const tensor = t && (t.kind === 'tensor' || t.kind === 'sparse_tensor') ? t : undefined;
  return { name: v.name, dtype: tensor?.dtype ?? null, shape: tensor?.shape ?? null, type: formatType(t) };
}

/** Inspect a model: structure, size and cost. */
export async function inspectModel(file: string): Promise<InspectResult> {
  const model: Model = await loadModel(file);
  // Shapes feed the MAC counts; shape conflicts do not stop an inspection.
  inferShapes(model, { strict: false });
  const stats = modelStats(model);
  const dir = path.dirname(path.resolve(file));
  const externalFiles = new Set<string>();
  for (const t of modelTensors(model)) if (t.externalData) externalFiles.add(t.externalData.location);
  let sizeBytes = fs.statSync(file).size;
  for (const loc of externalFiles) sizeBytes += fs.statSync(path.join(dir, loc)).size;
  const inits = model.graph.initializers;
  const strip = ({ type: _t, ...rest }: ReturnType<typeof io>) => rest;
  return {
    file,
    irVersion: model.irVersion,
    opsetImports: [...model.opsetImports].map(([domain, version]) => ({ domain, version })),
    producer: { name: model.producerName, version: model.producerVersion },
    inputs: model.graph.inputs.filter((v) => !inits.has(v.name)).map((v) => strip(io(v))),
    outputs: model.graph.outputs.map((v) => strip(io(v))),
    nodeCount: stats.nodeCount,
    totalNodeCount: stats.totalNodeCount,
    opCounts: stats.opCounts,
    parameters: stats.parameters,
    parameterBytes: stats.parameterBytes,
    sizeBytes,
    externalDataFiles: [...externalFiles],
    macs: stats.nodeMacs.length ? stats.macs : null,
    macsUnknownNodes: stats.macsUnknown,
    metadata: Object.fromEntries(model.metadata),
  };
}

const fmtInt = (n: number) => n.toLocaleString('en-US');
export const fmtBytes = (n: number) =>
  n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
const fmtShape = (s: InspectResult['inputs'][number]) =>
  `${s.dtype ?? '?'}${s.shape ? `[${s.shape.map((d) => d ?? '?').join(', ')}]` : '[...]'}`;

export function formatInspect(r: InspectResult): string {
  const lines = [
    `model      ${r.file}`,
    `size       ${fmtBytes(r.sizeBytes)} (${fmtInt(r.sizeBytes)} bytes${r.externalDataFiles.length ? `, external data: ${r.externalDataFiles.join(', ')}` : ''})`,
    `ir version ${r.irVersion}`,
    `opsets     ${r.opsetImports.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}`,
    `producer   ${[r.producer.name, r.producer.version].filter(Boolean).join(' ') || '(none)'}`,
    'inputs',
    ...r.inputs.map((i) => `  ${i.name}: ${fmtShape(i)}`),
    'outputs',
    ...r.outputs.map((o) => `  ${o.name}: ${fmtShape(o)}`),
    `nodes      ${fmtInt(r.nodeCount)}${r.totalNodeCount !== r.nodeCount ? ` (${fmtInt(r.totalNodeCount)} with subgraphs)` : ''}`,
    `parameters ${fmtInt(r.parameters)} (${fmtBytes(r.parameterBytes)})`,
    `MACs       ${r.macs === null ? 'unknown (no Conv/Gemm/MatMul with known shapes)' : fmtInt(r.macs)}${r.macsUnknownNodes.length ? ` (+${r.macsUnknownNodes.length} nodes with unknown shapes)` : ''}`,
    'ops',
    ...Object.entries(r.opCounts)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([op, n]) => `  ${op.padEnd(24)} ${n}`),
  ];
  return lines.join('\n') + '\n';
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: "show a model's inputs, outputs, ops, parameters, MACs and size",
  usage: 'edgeml inspect [model.onnx] [--json]',
  help: `Reads an ONNX model (with its external data) and prints its IR version, opsets,
producer, inputs and outputs with dtype and shape, node count, op histogram,
parameter count, MACs (where shapes are known) and file size.

Without a model path it inspects the embedded default model (Silero VAD).

Options:
  --json       print one JSON object: irVersion, opsetImports, producer, inputs,
               outputs, nodeCount, opCounts, parameters, sizeBytes, macs, ...
  -h, --help   show this help

Examples:
  edgeml inspect
  edgeml inspect model.onnx --json`,
  options: {},
  async run({ values, positionals, stdout }) {
    if (positionals.length > 1) throw new UsageError(`expected one model path, got ${positionals.length}`, 'inspect');
    const file = positionals[0] ?? defaultModelPath();
    const result = await inspectModel(file);
    stdout(values.json ? JSON.stringify(result, null, 2) + '\n' : formatInspect(result));
  },
};
