/**
 * The opset converter against third-party oracles: every model of the ONNX backend test data
 * (Debian's libonnx-testdata) is converted to opset 13, to opset 21 and down to the lowest
 * opset the converter reaches; each converted model must load on onnxruntime-node and give
 * the case's expected outputs (within the ONNX backend tests' tolerances) wherever the
 * original does, and pass the official ONNX checker wherever the original does (at opsets the
 * checker knows). A conversion the converter refuses must be an OpsetConversionError.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OpsetConversionError, convertOpset, decodeModel, encodeModel, type Model } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { runBackendCase } from '@edgeml/testing';
import { listCases, type TestCase } from './support/testdata.js';
import { checkModels } from './support/onnx-checker.js';

/** The highest opset Debian's onnx 1.12 checker knows. */
const CHECKER_MAX_OPSET = 17;
const TARGETS = ['13', '21', 'lowest'] as const;
type Target = (typeof TARGETS)[number];

interface Tally {
  cases: number;
  unchanged: number;
  passed: number;
  refused: Map<string, string[]>;
  failed: string[];
  /** Checker-valid conversions that onnxruntime has no kernel for (an op version it does not implement). */
  noKernel: string[];
  reached: Map<number, number>;
}

const newTally = (): Tally => ({
  cases: 0,
  unchanged: 0,
  passed: 0,
  refused: new Map(),
  failed: [],
  noKernel: [],
  reached: new Map(),
});

/** "Op: reason" for grouping refusals by op (the message after the opset step, without the node name). */
function refusalKey(e: OpsetConversionError): string {
  const why = e.message.replace(/^node '.*?' \(\w*\): cannot convert from opset \d+ to \d+: /, '');
  return `${e.opType || '(model)'}: ${why.split(';')[0]}`;
}

/** Convert, or say why not: an OpsetConversionError is a refusal, anything else a defect. */
function tryConvert(model: Model, target: number): { model: Model } | { refused: OpsetConversionError } {
  try {
    return { model: convertOpset(model, target).model };
  } catch (e) {
    if (e instanceof OpsetConversionError) return { refused: e };
    throw e;
  }
}

/** The lowest opset reachable by stepping down from the model's own, one opset at a time. */
function lowest(model: Model): { model: Model; opset: number } | { refused: OpsetConversionError } {
  const source = model.opset()!;
  // Below the converter's range the model-level refusal is the answer.
  if (source < 7) return tryConvert(model, 7) as { refused: OpsetConversionError };
  let best: { model: Model; opset: number } | undefined;
  for (let t = source - 1; t >= 7; t--) {
    const r = tryConvert(model, t);
    if ('refused' in r) return best ?? r;
    best = { model: r.model, opset: t };
  }
  return best!;
}

describe('opset conversion of the ONNX backend test data', () => {
  it('converted models reproduce the expected outputs on onnxruntime wherever the originals do', async () => {
    const cases = listCases();
    expect(cases.length).toBeGreaterThan(1000);
    const backend = new NodeBackend();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-opset-'));
    const tallies = new Map<Target, Tally>(TARGETS.map((t) => [t, newTally()]));
    const notReproduced: string[] = [];
    const toCheck: { name: string; target: Target; original: string; converted: string }[] = [];

    const judge = async (c: TestCase, target: Target, model: Model, opset: number) => {
      const tally = tallies.get(target)!;
      const file = path.join(tmp, `${c.name.replace(/\//g, '__')}.${target}.onnx`);
      fs.writeFileSync(file, encodeModel(model));
      const outcome = await runBackendCase(backend, { ...c, model: file });
      const why = 'reason' in outcome ? outcome.reason : '';
      if (outcome.kind === 'pass') tally.passed++;
      // A missing kernel is the runtime's gap, not a wrong conversion, as long as the checker accepts the model.
      else if (
        outcome.kind === 'cannot-run' &&
        outcome.errorName === 'UnsupportedOpError' &&
        opset <= CHECKER_MAX_OPSET
      )
        tally.noKernel.push(`${c.name} (opset ${opset}): ${why}`);
      else tally.failed.push(`${c.name} (opset ${opset}): ${outcome.kind}: ${why}`);
      if (opset <= CHECKER_MAX_OPSET) toCheck.push({ name: c.name, target, original: c.model, converted: file });
    };

    for (const c of cases) {
      const original = await runBackendCase(backend, c);
      if (original.kind !== 'pass') {
        notReproduced.push(`${c.name}: ${original.kind}`);
        continue;
      }
      const model = decodeModel(new Uint8Array(fs.readFileSync(c.model)), { file: c.model });
      const source = model.opset()!;
      for (const target of TARGETS) {
        const tally = tallies.get(target)!;
        tally.cases++;
        const opset = target === 'lowest' ? undefined : Number(target);
        if (opset === source || (opset === undefined && source === 7)) {
          tally.unchanged++;
          continue;
        }
        const r = opset === undefined ? lowest(model) : tryConvert(model, opset);
        if ('refused' in r) {
          const key = refusalKey(r.refused);
          tally.refused.set(key, [...(tally.refused.get(key) ?? []), c.name]);
          continue;
        }
        const reached = 'opset' in r ? (r.opset as number) : opset!;
        tally.reached.set(reached, (tally.reached.get(reached) ?? 0) + 1);
        await judge(c, target, r.model, reached);
      }
    }

    const verdicts = checkModels(toCheck.flatMap((w) => [w.original, w.converted]));
    const checkerFailures = toCheck
      .filter((w) => verdicts.get(w.original) === null && verdicts.get(w.converted) !== null)
      .map((w) => `${w.name} (${w.target}): ${verdicts.get(w.converted)}`);

    const lines = [
      `Opset conversion of the ONNX backend test data: ${cases.length} cases; ${cases.length - notReproduced.length} whose original reproduces its expected outputs on onnxruntime-node (the others are not counted)`,
    ];
    for (const [target, t] of tallies) {
      const refused = [...t.refused.values()].reduce((n, l) => n + l.length, 0);
      const converted = t.passed + t.failed.length + t.noKernel.length;
      lines.push(
        `target ${target}: ${t.cases} cases, ${t.unchanged} already there, ${converted} converted, ${t.passed} passed, ${t.noKernel.length} valid but without an onnxruntime kernel, ${refused} refused, ${t.failed.length} failed`,
      );
      if (target === 'lowest')
        lines.push(
          `  reached: ${[...t.reached]
            .sort((a, b) => a[0] - b[0])
            .map(([o, n]) => `opset ${o}: ${n}`)
            .join(', ')}`,
        );
      lines.push(`  refused with OpsetConversionError, by op and reason:`);
      for (const [key, names] of [...t.refused].sort((a, b) => b[1].length - a[1].length))
        lines.push(`    - ${key} (${names.length}): ${names.slice(0, 4).join(', ')}${names.length > 4 ? ', ...' : ''}`);
      lines.push(
        `  checker-valid, but onnxruntime-node has no kernel for the op at that version: ${t.noKernel.length}`,
      );
      lines.push(...t.noKernel.map((f) => `    - ${f}`));
      lines.push(`  failed: ${t.failed.length}`, ...t.failed.map((f) => `    - ${f}`));
    }
    lines.push(
      `ONNX checker (onnx 1.12, opsets <= ${CHECKER_MAX_OPSET}): ${toCheck.length} converted models checked; ${checkerFailures.length} fail where the original passes`,
      ...checkerFailures.map((l) => `    - ${l}`),
    );
    fs.mkdirSync('.tmp', { recursive: true });
    fs.writeFileSync('.tmp/opset-conversion-report.txt', lines.join('\n') + '\n');
    console.log(
      lines.filter((l) => l.startsWith('target') || l.startsWith('ONNX') || l.startsWith('Opset')).join('\n'),
    );
    fs.rmSync(tmp, { recursive: true, force: true });

    for (const t of tallies.values()) expect(t.failed).toEqual([]);
    expect(checkerFailures).toEqual([]);
    expect(tallies.get('21')!.passed).toBeGreaterThan(500);
  }, 900_000);
});
