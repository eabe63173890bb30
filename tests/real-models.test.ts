/**
 * Real models from many exporters (scripts/real-models.json, fetched by scripts/fetch-models.mjs)
 * through every command of the `edgeml` CLI, each result judged by onnxruntime-node, the official
 * ONNX checker and an independent reading of the file. Every cell is ok, refused (exit 1 with a
 * one-line typed reason) or a defect; a model's test fails listing its defects. The results go to
 * .tmp/real-models.json; `node scripts/real-models-table.mjs` turns them into docs/real-models.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { suiteSampleFactory, type SampleFactory, type Sample } from './support/real-model-data.js';
import { checkModels } from './support/onnx-checker.js';
import {
  COMMANDS,
  ROOT,
  cliHasCommand,
  compareOutputs,
  judgeFailure,
  loadSuite,
  measuredTree,
  modelFacts,
  runCli,
  runFile,
  toOrt,
  writeCalibration,
  type Cell,
  type CommandSpec,
  type FileRun,
  type ModelEntry,
  type ModelFacts,
  type ModelRow,
  type Suite,
} from './support/real-models.js';
import { encodeNpy } from '@edgeml/core';

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts/real-models.json'), 'utf8')) as {
  models: ModelEntry[];
};
const WORK = path.join(ROOT, '.tmp/real-models');
const REPORT = path.join(ROOT, '.tmp/real-models.json');
const rows = new Map<string, ModelRow>();

// Loaded in the first test that needs it, so a missing cache fails every test with what to run.
let suite: Suite | undefined;
let factory: SampleFactory | undefined;
let hasSimplify: boolean | undefined;
function context() {
  suite ??= loadSuite();
  factory ??= suiteSampleFactory(suite.files);
  hasSimplify ??= cliHasCommand('simplify');
  return { suite, factory, hasSimplify };
}

/** The fields of the inspect, quantize and prune `--json` documents that the judgement reads. */
interface CommandReport {
  parameters?: number;
  macs?: number | null;
  quantizedNodes?: number;
  skippedNodes?: unknown[];
  sqnrDb?: number;
  method?: string;
  paramsBefore?: number;
  paramsAfter?: number;
  skipped?: unknown[];
  sparsity?: number;
}

/** Run one command on one model and judge what it did. */
async function runCommand(
  spec: CommandSpec,
  model: { file: string; dir: string; facts: ModelFacts; reference: FileRun; feeds: Sample },
): Promise<Cell & { output?: string }> {
  const output = path.join(model.dir, `${spec.label.replace(/\W+/g, '_')}.onnx`);
  const argv = [
    spec.args[0],
    model.file,
    ...spec.args.slice(1),
    ...(spec.writes ? ['-o', output] : []),
    ...(spec.calibration ? ['--calibration', path.join(model.dir, 'calibration')] : []),
    '--json',
  ];
  const run = runCli(argv);
  const cell: Cell = { command: spec.label, status: 'ok', argv, ms: Math.round(run.ms) };
  const defect = (reason: string): Cell => ({ ...cell, status: 'defect', reason, stderr: run.stderr.slice(0, 4000) });
  if (run.code !== 0) {
    const judged = judgeFailure(spec, run, model.facts);
    return judged.status === 'defect' ? defect(judged.reason!) : { ...cell, ...judged };
  }
  let report: CommandReport;
  try {
    report = JSON.parse(run.stdout) as CommandReport;
  } catch {
    return defect(`exit 0 but --json printed no JSON document: ${run.stdout.slice(0, 200)}`);
  }
  const inScope = spec.scope
    .filter((op) => model.facts.weightedOps[op])
    .map((op) => `${model.facts.weightedOps[op]} ${op}`);
  if (spec.label === 'inspect') {
    // Bias vectors under 16 elements are not in the independent count, hence the slack.
    if ((report.parameters ?? 0) < 0.5 * model.facts.weightElements)
      return defect(
        `reports ${report.parameters} parameters; the file holds ${model.facts.weightElements} float weights (${inScope.join(', ')} nodes with constant weights)`,
      );
    return { ...cell, figures: { parameters: report.parameters ?? 0, macs: report.macs ?? 'unknown' } };
  }
  if (!fs.existsSync(output)) return defect('exit 0 but no file was written');
  const did = didSomething(spec, report);
  if (!did.ok && inScope.length)
    return defect(`exit 0 but ${did.what}; the model has ${inScope.join(', ')} node(s) with constant float weights`);
  const got = await runFile(output, toOrt(model.feeds));
  if ('error' in got) return defect(`exit 0 but ${got.error}`);
  const agreement = compareOutputs(model.reference, got);
  if ('error' in agreement) return defect(`exit 0 but ${agreement.error}`);
  return {
    ...cell,
    output,
    sizeBefore: fs.statSync(model.file).size,
    sizeAfter: fs.statSync(output).size,
    ...agreement,
    figures: did.figures,
  };
}

/** The command's own account of its work: did it change anything? */
function didSomething(spec: CommandSpec, r: CommandReport): { ok: boolean; what: string; figures: Cell['figures'] } {
  if (spec.args[0] === 'quantize')
    return {
      ok: (r.quantizedNodes ?? 0) > 0,
      what: 'it quantized 0 nodes',
      figures: {
        quantizedNodes: r.quantizedNodes ?? 0,
        leftInFloat: r.skippedNodes?.length ?? 0,
        ...(r.sqnrDb !== undefined ? { sqnrDb: r.sqnrDb } : {}),
      },
    };
  if (spec.args[0] === 'prune')
    return r.method === 'channel'
      ? {
          ok: (r.paramsAfter ?? 0) < (r.paramsBefore ?? 0),
          what: `it removed no channel (${r.skipped?.length ?? 0} group(s) skipped)`,
          figures: {
            paramsBefore: r.paramsBefore ?? 0,
            paramsAfter: r.paramsAfter ?? 0,
            skippedGroups: r.skipped?.length ?? 0,
          },
        }
      : { ok: (r.sparsity ?? 0) > 0, what: `sparsity is ${r.sparsity}`, figures: { sparsity: r.sparsity ?? 0 } };
  return { ok: true, what: '', figures: {} };
}

/** Files onnxruntime ran must also satisfy the official checker (python3-onnx 1.12 knows opsets up to 17). */
function applyChecker(cells: (Cell & { output?: string })[]): void {
  const written = cells.filter((c) => c.status === 'ok' && c.output);
  const opsets = modelFacts(written.map((c) => c.output!));
  const checkable = written.filter((c) => (opsets.get(c.output!)!.opset ?? 0) <= 17);
  const verdicts = checkable.length ? checkModels(checkable.map((c) => c.output!)) : new Map<string, string | null>();
  for (const c of written) {
    const opset = opsets.get(c.output!)!.opset ?? 0;
    if (opset > 17) {
      c.checker = `skipped (opset ${opset} > 17)`;
      continue;
    }
    const error = verdicts.get(c.output!);
    if (error)
      Object.assign(c, { status: 'defect', reason: `exit 0 but the official ONNX checker rejects it: ${error}` });
    else c.checker = 'valid';
  }
}

/** bench on the original, side by side with every file that ran: latency ratios for the ok cells. */
function bench(file: string, dir: string, inputs: string[], cells: (Cell & { output?: string })[]): Cell {
  const others = cells.filter((c) => c.status === 'ok' && c.output);
  const feeds = inputs.flatMap((n) => ['--input', `${n}=${path.join(dir, 'held-out', `${n}.npy`)}`]);
  const argvOf = (models: string[]) => [
    'bench',
    ...models,
    ...feeds,
    '--runs',
    '20',
    '--warmup',
    '3',
    '--threads',
    '1',
    '--json',
  ];
  const argv = argvOf([file, ...others.map((c) => c.output!)]);
  const run = runCli(argv);
  const cell: Cell = { command: 'bench', status: 'ok', argv, ms: Math.round(run.ms) };
  const spec: CommandSpec = { label: 'bench', args: ['bench'], writes: false, scope: [] };
  if (run.code !== 0) {
    // Alone, the original tells a bench problem from one with the files it was compared with.
    const alone = runCli(argvOf([file]));
    const judged = judgeFailure(spec, run, { opset: null, weightElements: 0, weightedOps: {} });
    if (alone.code === 0)
      return {
        ...cell,
        status: 'defect',
        reason: `fails with ${others.length} files onnxruntime runs: ${judged.reason}`,
        stderr: run.stderr,
      };
    return judged.status === 'defect' ? { ...cell, ...judged, stderr: run.stderr } : { ...cell, ...judged };
  }
  const results = JSON.parse(run.stdout).results as { model: string; latencyMs: { p50: number }; speedup?: number }[];
  for (const c of others) {
    const r = results.find((x) => x.model === c.output);
    if (r?.speedup !== undefined) c.speedup = r.speedup;
  }
  return { ...cell, figures: { p50Ms: results[0].latencyMs.p50 } };
}

async function evaluate(entry: ModelEntry): Promise<ModelRow> {
  const { suite, factory, hasSimplify } = context();
  const file = suite.files[entry.id];
  const facts = modelFacts([file]).get(file)!;
  const dir = path.join(WORK, entry.id);
  fs.rmSync(dir, { recursive: true, force: true });
  const samples = await factory.samples(entry.inputs);
  writeCalibration(path.join(dir, 'calibration'), samples.slice(1));
  fs.mkdirSync(path.join(dir, 'held-out'));
  for (const [name, t] of Object.entries(samples[0]))
    fs.writeFileSync(path.join(dir, 'held-out', `${name}.npy`), encodeNpy(t));
  const reference = await runFile(file, toOrt(samples[0]));
  if ('error' in reference) throw new Error(`${entry.id}: the original itself does not run: ${reference.error}`);
  const cells: (Cell & { output?: string })[] = [];
  for (const spec of COMMANDS) {
    if (spec.label === 'simplify' && !hasSimplify) {
      cells.push({ command: spec.label, status: 'unavailable', reason: 'command not available' });
      continue;
    }
    cells.push(await runCommand(spec, { file, dir, facts, reference, feeds: samples[0] }));
  }
  applyChecker(cells);
  cells.push(bench(file, dir, Object.keys(entry.inputs), cells));
  return {
    id: entry.id,
    package: `${entry.package}@${entry.version}`,
    exporter: entry.exporter,
    kind: entry.kind,
    opset: facts.opset,
    sizeBytes: fs.statSync(file).size,
    weightElements: facts.weightElements,
    weightedOps: facts.weightedOps,
    cells: cells.map(({ output: _output, ...c }) => c),
  };
}

describe('real models through every command', () => {
  afterAll(() => {
    // Whatever ran is recorded, defects included: the table is the point. A run that evaluated
    // nothing (no cache) leaves the last report alone.
    const ordered = manifest.models.map((m) => rows.get(m.id)).filter((r) => r !== undefined);
    if (!ordered.length) return;
    fs.mkdirSync(path.dirname(REPORT), { recursive: true });
    const measured = measuredTree();
    fs.writeFileSync(
      REPORT,
      JSON.stringify({ measured, commands: [...COMMANDS.map((c) => c.label), 'bench'], models: ordered }, null, 2) +
        '\n',
    );
  });

  for (const entry of manifest.models) {
    it(`${entry.id} (${entry.exporter}): every command ok or refused with a reason`, async () => {
      const row = await evaluate(entry);
      rows.set(entry.id, row);
      const defects = row.cells
        .filter((c) => c.status === 'defect')
        .map((c) => {
          // stderr only where it says more than the reason quotes (a stack trace, say).
          const stderr = c.stderr?.trim().split('\n').slice(0, 8) ?? [];
          const extra = stderr.length && !c.reason!.includes(stderr[0]) ? `\n  stderr: ${stderr.join('\n    ')}` : '';
          return `${entry.id} · edgeml ${c.argv!.join(' ')}\n  ${c.reason}${extra}`;
        });
      // The count is asserted, the list is the message: one readable report per failing model.
      expect(defects.length, `${defects.length} defect(s):\n${defects.join('\n')}\n`).toBe(0);
    }, 300_000);
  }
});
