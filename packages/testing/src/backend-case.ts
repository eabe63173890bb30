import * as fs from 'node:fs';
import { decodeTensor, toleranceMismatch, type Backend, type Tensor } from '@edgeml/core';
import type { TestCase } from './testdata.js';

/** What a backend made of one ONNX test case. */
export type CaseOutcome =
  | { kind: 'pass'; outputs: Record<string, Tensor>[] }
  | { kind: 'cannot-run'; reason: string; errorName: string }
  | { kind: 'disagrees'; reason: string; outputs: Record<string, Tensor>[] }
  /** The case feeds sequences or optionals, which the Tensor-based contract does not carry. */
  | { kind: 'not-applicable'; reason: string };

/** The error's message on one line. */
const oneLine = (e: unknown) =>
  ((e as Error).message ?? String(e))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');

/**
 * Run one case of the ONNX backend test data on a backend through the public contract:
 * load the model, feed each data set's inputs, compare every output with the expected one.
 */
export async function runBackendCase(backend: Backend, c: TestCase): Promise<CaseOutcome> {
  let inputSets: Tensor[][];
  try {
    inputSets = c.dataSets.map((set) => set.inputs.map((file) => decodeTensor(fs.readFileSync(file))));
  } catch (e) {
    return { kind: 'not-applicable', reason: `a test input is not a plain tensor: ${oneLine(e)}` };
  }
  let session;
  try {
    session = await backend.createSession(new Uint8Array(fs.readFileSync(c.model)), {
      graphOptimizationLevel: 'disabled',
    });
  } catch (e) {
    return { kind: 'cannot-run', reason: oneLine(e), errorName: (e as Error).name };
  }
  const outputs: Record<string, Tensor>[] = [];
  let disagreement: string | undefined;
  try {
    for (const [k, set] of c.dataSets.entries()) {
      const feeds: Record<string, Tensor> = {};
      inputSets[k].forEach((t, i) => {
        feeds[session.inputs[i].name] = t;
      });
      let out: Record<string, Tensor>;
      try {
        out = await session.run(feeds);
      } catch (e) {
        return { kind: 'cannot-run', reason: oneLine(e), errorName: (e as Error).name };
      }
      outputs.push(out);
      set.outputs.forEach((file, i) => {
        if (disagreement) return;
        const name = session.outputs[i].name;
        let expected: Tensor;
        try {
          expected = decodeTensor(fs.readFileSync(file));
        } catch (e) {
          disagreement = `expected output ${i} is not a plain tensor: ${oneLine(e)}`;
          return;
        }
        const why = toleranceMismatch(out[name], expected);
        if (why) disagreement = `output '${name}': ${why}`;
      });
    }
  } finally {
    await session.dispose();
  }
  return disagreement ? { kind: 'disagrees', reason: disagreement, outputs } : { kind: 'pass', outputs };
}
