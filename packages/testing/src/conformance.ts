import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BackendError,
  EdgeMLError,
  InvalidArgumentError,
  Tensor,
  decodeModel,
  float32ToFloat16Bits,
  type Backend,
  type DType,
} from '@edgeml/core';
import { runBackendCase, type BackendCase, type CaseOutcome } from './backend-case.js';
import { ONNX_CONTRACT_MODELS, type ContractModels } from './contract-models.js';
import { listCases, type TestCase } from './testdata.js';

/** How a backend takes part in the shared suite. */
export interface ConformanceOptions {
  /** Makes the backend under test (called once per test). */
  backend: () => Backend | Promise<Backend>;
  /** Element types the backend cannot carry across its JavaScript API, with the reason. */
  unsupportedTypes?: Partial<Record<DType, string>>;
  /**
   * Cases of the ONNX backend test data whose expected outputs this backend disagrees with
   * (known bugs or legitimate differences such as random generators), by name with the reason.
   */
  knownDisagreements?: Readonly<Record<string, string>>;
  /**
   * For backends with execution providers: also check that a provider they lack (named
   * `unknown`) is passed over, recorded in `skippedExecutionProviders` with a reason, and
   * that the session still runs on another one. Left out, the suite does not ask for providers.
   */
  executionProviders?: { unknown: string };
  /**
   * How many of the sampled ONNX backend test cases must pass (default: more than half). A
   * backend that implements few operators sets the floor it has measured, so a regression fails.
   */
  minimumPasses?: number;
  /** Where to write the per-case report (default `.tmp/conformance-<backend>.txt`). */
  reportFile?: string;
  /** The contract models in the format the backend runs (default {@link ONNX_CONTRACT_MODELS}). */
  models?: ContractModels;
  /**
   * The cases run against their expected outputs, with a name for the report (default: a
   * sample of the ONNX backend test data, see {@link conformanceCases}). Backends of another
   * format bring a case set in their format, with expected outputs from an independent oracle.
   */
  cases?: { name: string; load: () => BackendCase[] | Promise<BackendCase[]>; minimumCount: number };
}

const IDENTITY_VALUES: Partial<Record<DType, () => Tensor>> = {
  float32: () => Tensor.from('float32', [2, 3], [0, -1.5, 3.25, 3.4e38, -0, 1e-30]),
  float64: () => Tensor.from('float64', [2, 3], [0, -1.5, 1e300, -1e-300, Math.PI, 2 ** 53]),
  float16: () =>
    Tensor.from('float16', [2, 3], Uint16Array.from([0, -1.5, 65504, 6e-8, 0.1, -2], float32ToFloat16Bits)),
  int8: () => Tensor.from('int8', [2, 3], [-128, -1, 0, 1, 64, 127]),
  uint8: () => Tensor.from('uint8', [2, 3], [0, 1, 2, 128, 254, 255]),
  int16: () => Tensor.from('int16', [2, 3], [-32768, -1, 0, 1, 1000, 32767]),
  uint16: () => Tensor.from('uint16', [2, 3], [0, 1, 2, 1000, 40000, 65535]),
  int32: () => Tensor.from('int32', [2, 3], [-(2 ** 31), -1, 0, 1, 123456, 2 ** 31 - 1]),
  uint32: () => Tensor.from('uint32', [2, 3], [0, 1, 2, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1]),
  int64: () => Tensor.from('int64', [2, 3], [-(2n ** 63n), -1n, 0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n]),
  uint64: () => Tensor.from('uint64', [2, 3], [0n, 1n, 2n, 2n ** 63n, 2n ** 64n - 2n, 2n ** 64n - 1n]),
  bool: () => Tensor.from('bool', [2, 3], [true, false, true, true, false, false]),
  string: () => Tensor.from('string', [2, 3], ['', 'a', 'ünïcødé', 'with space', '0', 'x'.repeat(100)]),
};

const sameBytes = (a: Tensor, b: Tensor) =>
  a.dtype === b.dtype &&
  a.dims.join() === b.dims.join() &&
  (a.dtype === 'string'
    ? a.stringBytes.every((s, i) => Buffer.compare(Buffer.from(s), Buffer.from(b.stringBytes[i])) === 0)
    : Buffer.compare(Buffer.from(a.bytes), Buffer.from(b.bytes)) === 0);

/**
 * A sample of the ONNX backend test data (every third case of the `node` suite plus the
 * `simple` suite): a few hundred operators and edge cases, small enough for every backend.
 */
export function conformanceCases(): TestCase[] {
  return [...listCases(['node']).filter((_, i) => i % 3 === 0), ...listCases(['simple'])];
}

/**
 * Register the shared backend conformance suite (vitest): the contract's behaviour on models
 * whose answers are known exactly, then a few hundred ONNX backend test cases against their
 * expected outputs. Every backend runs the same suite; what a backend cannot run it refuses
 * with a typed error (the report lists it as "cannot run"), and where it disagrees with the
 * expected data it declares so, with reasons. `name` is the backend's `Backend.name`.
 *
 * @example
 * ```ts
 * describeBackendConformance('onnxruntime-node', {
 *   backend: () => new NodeBackend(),
 *   knownDisagreements: ONNXRUNTIME_KNOWN_DISAGREEMENTS,
 *   executionProviders: { unknown: 'no-such-ep' },
 * });
 * ```
 */
export function describeBackendConformance(name: string, options: ConformanceOptions): void {
  describeContract(name, options);
  describeTestData(name, options);
}

/** The contract on models whose answers are known exactly. */
function describeContract(name: string, options: ConformanceOptions): void {
  const models = options.models ?? ONNX_CONTRACT_MODELS;
  describe(`${name}: backend contract (${models.format} models)`, () => {
    const a = Tensor.from('float32', [2, 3], [1, 2, 3, 4, 5, 6]);
    const b = Tensor.from('float32', [2, 3], [0.5, -1, 2, 0, 10, -3]);

    it('initialises, names itself and reports its runtime version', async () => {
      const backend = await options.backend();
      await backend.init();
      expect(backend.name).toBe(name);
      expect(backend.version).toMatch(/^\d+\.\d+\.\d+/);
    });

    it(`creates sessions from bytes${models.takesIrModel ? ', a Model' : ''} and a file path, with the model's inputs and outputs`, async () => {
      const backend = await options.backend();
      const bytes = models.addMul();
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-contract-')), `add_mul${models.extension}`);
      fs.writeFileSync(file, bytes);
      for (const source of models.takesIrModel ? [bytes, decodeModel(bytes), file] : [bytes, file]) {
        const s = await backend.createSession(source);
        expect(s.inputs.map((i) => i.name)).toEqual(['a', 'b']);
        expect(s.outputs.map((o) => o.name)).toEqual(['sum', 'product']);
        expect(s.inputs[0].type).toEqual({ kind: 'tensor', dtype: 'float32', shape: models.addMulInputShape });
        const out = await s.run({ a, b });
        expect(Array.from(out.sum.toFloat64())).toEqual([1.5, 1, 5, 4, 15, 3]);
        expect(Array.from(out.product.toFloat64())).toEqual([0.5, -2, 6, 0, 50, -18]);
        expect(out.sum.dims).toEqual([2, 3]);
        await s.dispose();
      }
      if (!models.takesIrModel)
        await expect(backend.createSession(decodeModel(ONNX_CONTRACT_MODELS.addMul()))).rejects.toThrow(
          InvalidArgumentError,
        );
    });

    it('fetches only the outputs asked for', async () => {
      const s = await (await options.backend()).createSession(models.addMul());
      const out = await s.run({ a, b }, { outputs: ['product'] });
      expect(Object.keys(out)).toEqual(['product']);
      await s.dispose();
    });

    it('carries every element type across its API bit for bit (or refuses it with a reason)', async () => {
      const backend = await options.backend();
      for (const [dtype, make] of Object.entries(IDENTITY_VALUES) as [DType, () => Tensor][]) {
        const s = await backend.createSession(models.identity(dtype));
        const x = make();
        if (options.unsupportedTypes?.[dtype]) {
          await expect(s.run({ x }), dtype).rejects.toBeInstanceOf(EdgeMLError);
        } else {
          const { y } = await s.run({ x });
          expect(sameBytes(y, x), dtype).toBe(true);
        }
        await s.dispose();
      }
    });

    it('names missing and unknown inputs, and refuses runs after dispose', async () => {
      const s = await (await options.backend()).createSession(models.addMul());
      await expect(s.run({ a })).rejects.toThrow(InvalidArgumentError);
      await expect(s.run({ a })).rejects.toThrow(/missing input 'b'; the model takes a, b/);
      await expect(s.run({ a, b, c: a })).rejects.toThrow(/unknown input 'c'/);
      await expect(s.run({ a, b: Tensor.from('int32', [2, 3], [1, 2, 3, 4, 5, 6]) })).rejects.toThrow(BackendError);
      await s.dispose();
      await s.dispose();
      await expect(s.run({ a, b })).rejects.toThrow(/disposed/);
    });

    it(`refuses bytes that are not a model with a ${models.invalidBytesError.name}`, async () => {
      const backend = await options.backend();
      await expect(backend.createSession(new Uint8Array([8, 1, 0xff, 0xff, 0xff]))).rejects.toThrow(
        models.invalidBytesError,
      );
      const missing = `/no/such/model${models.extension}`;
      await expect(backend.createSession(missing)).rejects.toThrow(missing);
    });

    const providers = options.executionProviders;
    if (providers)
      it('falls back from an execution provider it lacks and says which one runs', async () => {
        const backend = await options.backend();
        const s = await backend.createSession(models.addMul(), { executionProviders: [providers.unknown] });
        expect(s.executionProviders?.length).toBeGreaterThan(0);
        expect(s.executionProviders).not.toContain(providers.unknown);
        expect(s.skippedExecutionProviders).toEqual([
          { name: providers.unknown, reason: expect.any(String) as string },
        ]);
        expect(s.skippedExecutionProviders![0].reason).not.toBe('');
        expect(Array.from((await s.run({ a, b })).sum.toFloat64())).toEqual([1.5, 1, 5, 4, 15, 3]);
        await s.dispose();
      });
  });
}

/** A few hundred ONNX backend test cases against their expected outputs. */
function describeTestData(name: string, options: ConformanceOptions): void {
  const caseSet = options.cases ?? { name: 'ONNX backend test data', load: conformanceCases, minimumCount: 301 };
  describe(`${name}: ${caseSet.name}`, () => {
    it(`runs at least ${caseSet.minimumCount} cases within their tolerances; every disagreement is declared with its reason`, async () => {
      const backend = await options.backend();
      const cases = await caseSet.load();
      expect(cases.length).toBeGreaterThanOrEqual(caseSet.minimumCount);
      const outcomes = new Map<string, CaseOutcome>();
      for (const c of cases) outcomes.set(c.name, await runBackendCase(backend, c));
      const by = (k: CaseOutcome['kind']) =>
        [...outcomes].filter(([, o]) => o.kind === k) as [string, CaseOutcome & { reason?: string }][];
      const pass = by('pass'),
        cannot = by('cannot-run'),
        disagree = by('disagrees'),
        na = by('not-applicable');
      const known = options.knownDisagreements ?? {};
      const report = [
        `${backend.name} ${backend.version ?? ''}: ${cases.length} cases of the ${caseSet.name}`,
        `  pass: ${pass.length}`,
        `  not applicable (inputs are sequences or optionals, which the contract does not carry): ${na.length}`,
        ...na.map(([n, o]) => `    - ${n}: ${o.reason}`),
        `  cannot run (typed error from the backend): ${cannot.length}`,
        ...cannot.map(([n, o]) => `    - ${n}: ${o.reason}`),
        `  runs but disagrees with the expected data: ${disagree.length}`,
        ...disagree.map(([n, o]) => `    - ${n}: ${o.reason}${known[n] ? ` (known: ${known[n]})` : ''}`),
      ].join('\n');
      const file = options.reportFile ?? path.join('.tmp', `conformance-${backend.name}.txt`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, report + '\n');
      console.log(
        `${report.split('\n')[0]}: ${pass.length} pass, ${na.length} not applicable, ${cannot.length} cannot run, ${disagree.length} disagree (full list: ${file})`,
      );
      // Failures to run are the runtime's to report, but always as typed errors.
      for (const [name, o] of cannot)
        expect(['BackendError', 'UnsupportedOpError', 'InvalidArgumentError'], `${name}: ${o.reason}`).toContain(
          (o as { errorName: string }).errorName,
        );
      expect(
        disagree.map(([n]) => n).filter((n) => !known[n]),
        'undeclared disagreements',
      ).toEqual([]);
      expect(
        Object.keys(known).filter((n) => outcomes.get(n)?.kind !== 'disagrees'),
        'declared disagreements that now pass or are gone',
      ).toEqual([]);
      if (options.minimumPasses === undefined) expect(pass.length).toBeGreaterThan(cases.length / 2);
      else expect(pass.length).toBeGreaterThanOrEqual(options.minimumPasses);
    });
  });
}
