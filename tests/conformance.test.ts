/**
 * ONNX conformance round trip: every model of the ONNX backend test data is decoded and
 * re-encoded by @edgeml/core, then run on onnxruntime-node with the case's own inputs.
 * Oracles: the case's output_*.pb (within the ONNX backend tests' tolerances), the original
 * file's outputs on the same runtime (must match exactly), and the official ONNX checker.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel, decodeTensor, liftConstants, ModelFormatError } from '@edgeml/core';
import { toOrtTensor } from '@edgeml/runtime-node';
import { listCases, type TestCase } from './support/testdata.js';
import { checkModels } from './support/onnx-checker.js';

const RTOL = 1e-3;
const ATOL = 1e-7;

type Outcome =
  | { kind: 'pass' }
  | { kind: 'ort-cannot-run'; reason: string }
  | { kind: 'ort-disagrees-with-expected'; reason: string }
  | { kind: 'codec-failure'; reason: string };

function sameBits(a: ort.Tensor, b: ort.Tensor): boolean {
  if (a.type !== b.type || a.dims.join() !== b.dims.join()) return false;
  if (a.type === 'string') return (a.data as string[]).every((s, i) => s === (b.data as string[])[i]);
  const x = a.data as unknown as ArrayBufferView,
    y = b.data as unknown as ArrayBufferView;
  return (
    Buffer.compare(
      Buffer.from(x.buffer, x.byteOffset, x.byteLength),
      Buffer.from(y.buffer, y.byteOffset, y.byteLength),
    ) === 0
  );
}

function closeTo(actual: ort.Tensor, expected: ort.Tensor): string | undefined {
  if (actual.dims.join() !== expected.dims.join()) return `shape [${actual.dims}] vs expected [${expected.dims}]`;
  if (actual.type === 'string') return sameBits(actual, expected) ? undefined : 'strings differ';
  const a = actual.data as ArrayLike<number | bigint>,
    e = expected.data as ArrayLike<number | bigint>;
  for (let i = 0; i < e.length; i++) {
    const x = Number(a[i]),
      y = Number(e[i]);
    if (Number.isNaN(y) && Number.isNaN(x)) continue;
    if (x === y) continue;
    if (!(Math.abs(x - y) <= ATOL + RTOL * Math.abs(y))) return `element ${i}: ${x} vs expected ${y}`;
  }
  return undefined;
}

async function runCase(c: TestCase, reencoded: Uint8Array): Promise<Outcome> {
  let original: ort.InferenceSession;
  try {
    original = await ort.InferenceSession.create(c.model, { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
  } catch (e) {
    return { kind: 'ort-cannot-run', reason: (e as Error).message.split('\n')[0] };
  }
  let copy: ort.InferenceSession;
  try {
    copy = await ort.InferenceSession.create(reencoded, { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
  } catch (e) {
    await original.release();
    return { kind: 'codec-failure', reason: `re-encoded model does not load: ${(e as Error).message.split('\n')[0]}` };
  }
  try {
    let disagreement: string | undefined;
    for (const set of c.dataSets) {
      const feeds: Record<string, ort.Tensor> = {};
      try {
        set.inputs.forEach((file, i) => {
          feeds[original.inputNames[i]] = toOrtTensor(decodeTensor(fs.readFileSync(file)), original.inputNames[i]);
        });
      } catch (e) {
        return {
          kind: 'ort-cannot-run',
          reason: `input is not a tensor onnxruntime's JS API can feed: ${(e as Error).message.split('\n')[0]}`,
        };
      }
      let a: ort.InferenceSession.ReturnType, b: ort.InferenceSession.ReturnType;
      try {
        a = await original.run(feeds);
      } catch (e) {
        return { kind: 'ort-cannot-run', reason: (e as Error).message.split('\n')[0] };
      }
      try {
        b = await copy.run(feeds);
      } catch (e) {
        return {
          kind: 'codec-failure',
          reason: `re-encoded model fails to run: ${(e as Error).message.split('\n')[0]}`,
        };
      }
      for (const name of original.outputNames) {
        if (!sameBits(a[name], b[name]))
          return { kind: 'codec-failure', reason: `output '${name}' differs from the original model's` };
      }
      set.outputs.forEach((file, i) => {
        if (disagreement) return;
        let expected: ort.Tensor;
        try {
          expected = toOrtTensor(decodeTensor(fs.readFileSync(file)), 'expected');
        } catch (e) {
          disagreement = `expected output is not a plain tensor: ${(e as Error).message}`;
          return;
        }
        const why = closeTo(a[original.outputNames[i]], expected);
        if (why) disagreement = `output '${original.outputNames[i]}': ${why}`;
      });
    }
    return disagreement ? { kind: 'ort-disagrees-with-expected', reason: disagreement } : { kind: 'pass' };
  } finally {
    await original.release();
    await copy.release();
  }
}

describe('ONNX backend test data round trip', () => {
  it('decodes, re-encodes and runs every case; outputs match the original exactly and the expected data within tolerance', async () => {
    const cases = listCases();
    expect(cases.length).toBeGreaterThan(1000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-conf-'));
    const outcomes = new Map<string, Outcome>();
    const written: { name: string; original: string; copy: string }[] = [];
    for (const c of cases) {
      const bytes = new Uint8Array(fs.readFileSync(c.model));
      let reencoded: Uint8Array;
      try {
        reencoded = encodeModel(decodeModel(bytes, { file: c.model }));
      } catch (e) {
        outcomes.set(c.name, {
          kind: 'codec-failure',
          reason: `${e instanceof ModelFormatError ? 'decode' : 'encode'}: ${(e as Error).message}`,
        });
        continue;
      }
      const file = path.join(tmp, `${c.name.replace(/\//g, '__')}.onnx`);
      fs.writeFileSync(file, reencoded);
      written.push({ name: c.name, original: c.model, copy: file });
      outcomes.set(c.name, await runCase(c, reencoded));
    }

    // The official checker: every re-encoded model must pass wherever the original passes.
    const verdicts = checkModels(written.flatMap((w) => [w.original, w.copy]));
    const checkerFailures: string[] = [];
    let checkedValid = 0;
    for (const w of written) {
      const orig = verdicts.get(w.original),
        copy = verdicts.get(w.copy);
      if (orig === null && copy !== null) checkerFailures.push(`${w.name}: ${copy}`);
      if (copy === null) checkedValid++;
    }

    const group = (kind: Outcome['kind']) =>
      [...outcomes].filter(([, o]) => o.kind === kind) as [string, Outcome & { reason?: string }][];
    const passes = group('pass'),
      cannot = group('ort-cannot-run'),
      disagree = group('ort-disagrees-with-expected'),
      failures = group('codec-failure');
    const lines = [
      `ONNX conformance round trip: ${cases.length} cases`,
      `  pass (re-encoded output identical to original, original within rtol=${RTOL} atol=${ATOL} of expected): ${passes.length}`,
      `  onnxruntime-node cannot run the original (not counted as passes): ${cannot.length}`,
      ...cannot.map(([n, o]) => `    - ${n}: ${o.reason}`),
      `  onnxruntime-node runs it but disagrees with the expected data (re-encoded still identical to original): ${disagree.length}`,
      ...disagree.map(([n, o]) => `    - ${n}: ${o.reason}`),
      `  codec failures: ${failures.length}`,
      ...failures.map(([n, o]) => `    - ${n}: ${o.reason}`),
      `ONNX checker (full_check): ${checkedValid}/${written.length} re-encoded models valid; ${checkerFailures.length} fail where the original passes`,
      ...checkerFailures.map((l) => `    - ${l}`),
    ];
    fs.mkdirSync('.tmp', { recursive: true });
    fs.writeFileSync('.tmp/conformance-report.txt', lines.join('\n') + '\n');
    console.log(lines.join('\n'));
    fs.rmSync(tmp, { recursive: true, force: true });
    expect(failures.map(([n, o]) => `${n}: ${o.reason}`)).toEqual([]);
    expect(checkerFailures).toEqual([]);
    expect(passes.length).toBeGreaterThan(900);
  }, 900_000);

  it('lifts Constant nodes (main graph and subgraphs) into initializers without changing any output', async () => {
    const lifted: string[] = [];
    const failures: string[] = [];
    let passes = 0;
    for (const c of listCases()) {
      const model = decodeModel(new Uint8Array(fs.readFileSync(c.model)), { file: c.model });
      if (!liftConstants(model.graph)) continue;
      lifted.push(c.name);
      // runCase's oracle: every output bit-identical to the original file's on onnxruntime.
      const outcome = await runCase(c, encodeModel(model));
      if (outcome.kind === 'codec-failure') failures.push(`${c.name}: ${outcome.reason}`);
      if (outcome.kind === 'pass') passes++;
    }
    console.log(
      `constant lifting: ${lifted.length} cases had Constant nodes; ${passes} reproduce the expected outputs`,
    );
    expect(failures).toEqual([]);
    // test_constant, test_constant_pad*, the Loop/If/Scan cases whose bodies hold Constants, ...
    expect(lifted.length).toBeGreaterThan(10);
    expect(passes).toBeGreaterThan(lifted.length / 2);
  }, 300_000);
});
