/**
 * The execution-provider fallback on real onnxruntime-node. Its CUDA provider is listed by the
 * package but its libraries are never installed here (the workspace never runs onnxruntime-node's
 * postinstall, which downloads them), so asking for it is a real provider failure.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { BackendError, InvalidArgumentError, UnsupportedOpError } from '@edgeml/core';
import { createSessionWithFallback, ortSessionOptions, type ExecutionProviderFallbackOptions } from './index.js';

const MNIST = new Uint8Array(
  fs.readFileSync(path.join(__dirname, '..', '..', '..', 'tests', 'fixtures', 'mnist-cnn.onnx')),
);
const MIN_INT16 = '/usr/share/libonnx-testdata/data/node/test_min_int16/model.onnx';

ort.env.logLevel = 'fatal';

/** Fallback options over onnxruntime-node, recording which providers each attempt was given. */
function overOnnxruntimeNode(
  model: Uint8Array,
  overrides: Partial<ExecutionProviderFallbackOptions<ort.InferenceSession>>,
): { options: ExecutionProviderFallbackOptions<ort.InferenceSession>; attempts: string[][] } {
  const attempts: string[][] = [];
  const options: ExecutionProviderFallbackOptions<ort.InferenceSession> = {
    backend: 'onnxruntime-node',
    model,
    requested: undefined,
    available: ['cuda', 'cpu'],
    unavailableReason: 'not available in this build',
    lastResort: 'cpu',
    chain: true,
    create: (providers) => {
      attempts.push(providers);
      return ort.InferenceSession.create(model, { ...ortSessionOptions({}), executionProviders: providers });
    },
    ...overrides,
  };
  return { options, attempts };
}

describe('createSessionWithFallback', () => {
  it("passes over providers not offered, records a provider that fails with onnxruntime's reason, ends on the last resort", async () => {
    const { options, attempts } = overOnnxruntimeNode(MNIST, { requested: ['no-such-ep', 'cuda', 'cpu'] });
    const result = await createSessionWithFallback(options);
    expect(result.executionProviders).toEqual(['cpu']);
    expect(result.skippedExecutionProviders).toEqual([
      { name: 'no-such-ep', reason: 'not available in this build' },
      { name: 'cuda', reason: expect.stringMatching(/Cuda: Failed to load shared library/) },
    ]);
    // Each attempt hands onnxruntime the rest of the list, so it can place nodes on later providers.
    expect(attempts).toEqual([['cuda', 'cpu'], ['cpu']]);
    expect(result.session.inputNames).toEqual(['image']);
    await result.session.release();
  });

  it('gives one provider per attempt when not chaining, and always tries the last resort last', async () => {
    const { options, attempts } = overOnnxruntimeNode(MNIST, { requested: ['cpu', 'cuda'], chain: false });
    const result = await createSessionWithFallback(options);
    expect(attempts).toEqual([['cuda'], ['cpu']]);
    expect(result.executionProviders).toEqual(['cpu']);
    await result.session.release();
  });

  it('asks for the last resort alone when no provider is requested', async () => {
    const { options, attempts } = overOnnxruntimeNode(MNIST, { requested: [] });
    const result = await createSessionWithFallback(options);
    expect(attempts).toEqual([['cpu']]);
    expect(result.skippedExecutionProviders).toEqual([]);
    await result.session.release();
  });

  it('throws the explained error at once when the last resort fails for a reason every provider shares', async () => {
    const { missingKernelError } = await import('./missing-kernel.js');
    const bytes = new Uint8Array(fs.readFileSync(MIN_INT16));
    let lookups = 0;
    const { options } = overOnnxruntimeNode(bytes, {
      requested: ['cuda'],
      explainFailure: (e) =>
        missingKernelError(e, 'onnxruntime-node', () => {
          lookups++;
          return bytes;
        }),
    });
    const err = await createSessionWithFallback(options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedOpError);
    expect(err).toMatchObject({ opType: 'Min', domain: '', opset: 13 });
    expect((err as Error).message).toMatch(/^onnxruntime-node has no kernel for Min \(version 13\)/);
    // The model is read only for the failure that is a missing kernel (cpu), not for cuda's.
    expect(lookups).toBe(1);
  });

  it('lists every provider and why it failed when none works', async () => {
    const { options } = overOnnxruntimeNode(new Uint8Array([8, 1, 0xff, 0xff, 0xff]), { requested: ['cuda'] });
    const err = await createSessionWithFallback({ ...options, model: '/models/broken.onnx' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(
      /^onnxruntime-node could not create a session for '\/models\/broken.onnx':\n {2}cuda: .*Failed to load shared library\n {2}cpu: .+/,
    );
  });
});

describe('ortSessionOptions', () => {
  it("maps core's options to onnxruntime's, extra last, and refuses bad values by name", () => {
    expect(
      ortSessionOptions({
        intraOpThreads: 2,
        interOpThreads: 1,
        graphOptimizationLevel: 'basic',
        extra: { enableCpuMemArena: false, logSeverityLevel: 3 },
      }),
    ).toEqual({
      logSeverityLevel: 3,
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'basic',
      enableCpuMemArena: false,
    });
    expect(() => ortSessionOptions({ intraOpThreads: -1 })).toThrow(InvalidArgumentError);
    expect(() => ortSessionOptions({ interOpThreads: 1.5 })).toThrow(/interOpThreads must be a non-negative integer/);
    expect(() => ortSessionOptions({ graphOptimizationLevel: 'max' as 'all' })).toThrow(/graphOptimizationLevel/);
  });
});
