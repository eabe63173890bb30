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

/**
 * One model with input sets and their expected outputs: files of serialized TensorProtos (a
 * {@link TestCase} of the ONNX backend test data), or tensors in memory (case sets whose
 * expected outputs an oracle computes at test time).
 */
export interface BackendCase extends Omit<TestCase, 'dataSets'> {
  dataSets: { inputs: readonly (string | Tensor)[]; outputs: readonly (string | Tensor)[] }[];
  /** Tolerances of the comparison (default: the ONNX backend tests', rtol 1e-3 and atol 1e-7). */
  tolerance?: { rtol: number; atol: number };
}

/** A data set's tensor: given, or read from a serialized TensorProto. */
const tensorOf = (entry: string | Tensor): Tensor =>
  typeof entry === 'string' ? decodeTensor(fs.readFileSync(entry)) : entry;

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
export async function runBackendCase(backend: Backend, c: BackendCase): Promise<CaseOutcome> {
  let inputSets: Tensor[][];
  try {
    inputSets = c.dataSets.map((set) => set.inputs.map(tensorOf));
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
          expected = tensorOf(file);
        } catch (e) {
          disagreement = `expected output ${i} is not a plain tensor: ${oneLine(e)}`;
          return;
        }
        const why = toleranceMismatch(out[name], expected, c.tolerance?.rtol, c.tolerance?.atol);
        if (why) disagreement = `output '${name}': ${why}`;
      });
    }
  } finally {
    await session.dispose();
  }
  return disagreement ? { kind: 'disagrees', reason: disagreement, outputs } : { kind: 'pass', outputs };
}
