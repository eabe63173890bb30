/**
 * The CPU detection against what onnxruntime computes here: an integer matrix product whose
 * u8×s8 pair sums pass 16 bits, run by onnxruntime's MatMulInteger and compared with the exact
 * sum. The detection must say "saturates" exactly when onnxruntime's answer is wrong.
 */
import { describe, expect, it } from 'vitest';
import { Graph, Model, Tensor, tensorType } from '@edgeml/core';
import { NodeBackend } from './index.js';
import { detectIntegerKernels } from './integer-kernels.js';

const K = 64;

/** y = x · w with x uint8 [1, K] and w int8 [K, N], accumulated in int32. */
function matMulInteger(n: number): Model {
  const g = new Graph('u8s8');
  const x = g.addInput('x', tensorType('uint8', [1, K]));
  const w = g.addInitializer(
    'w',
    Tensor.from(
      'int8',
      [K, n],
      Int8Array.from({ length: K * n }, () => 127),
    ),
  );
  const y = g.op('MatMulInteger', [x, w]).outputs[0];
  y.name = 'y';
  y.type = tensorType('int32', [1, n]);
  g.outputs.push(y);
  return new Model(g, { opsetImports: new Map([['', 13]]), irVersion: 8 });
}

describe('integer kernels of this CPU', () => {
  it('says the u8×s8 sums saturate exactly when onnxruntime gets a full-range product wrong', async () => {
    const backend = new NodeBackend();
    await backend.init();
    // Wide enough for every kernel (MLAS packs 16 columns at a time).
    const session = await backend.createSession(matMulInteger(32));
    const x = Tensor.from(
      'uint8',
      [1, K],
      Uint8Array.from({ length: K }, () => 255),
    );
    const y = (await session.run({ x })).y.data as Int32Array;
    await session.dispose();
    const exact = 255 * 127 * K;
    const wrong = [...y].some((v) => v !== exact);
    expect(backend.integerKernels.pairSumsSaturate).toBe(wrong);
  });

  it('reads VNNI from the feature flags Linux and macOS list', () => {
    const zen2 = 'fpu vme de pse tsc msr pae mce cx8 apic sse sse2 ssse3 fma cx16 sse4_1 sse4_2 avx f16c avx2 bmi2';
    const icelake = `${zen2} avx512f avx512dq avx512bw avx512vl avx512_vnni`;
    const alderlake = `${zen2} avx_vnni`;
    expect(detectIntegerKernels('x64', zen2).pairSumsSaturate).toBe(true);
    expect(detectIntegerKernels('x64', icelake).pairSumsSaturate).toBe(false);
    expect(detectIntegerKernels('x64', alderlake).pairSumsSaturate).toBe(false);
    // macOS's sysctl spells it AVX512VNNI.
    expect(detectIntegerKernels('x64', 'AVX2 BMI2 AVX512F AVX512VNNI').pairSumsSaturate).toBe(false);
    expect(detectIntegerKernels('x64', null).pairSumsSaturate).toBe(true);
    expect(detectIntegerKernels('arm64', null).pairSumsSaturate).toBe(false);
  });
});
