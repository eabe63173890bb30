import { describe, expect, it } from 'vitest';
import { summarizeOrtProfile } from './profile.js';
import { explainSlowdown, kernelKind, opShares, qdqShare, type SpeedCheckResult } from './speed-check.js';

/** A trace of back-to-back kernels, `runs` times over: [op type, µs] each run. */
function trace(kernels: [op: string, us: number][], runs: number) {
  const events = [];
  let ts = 0;
  for (let r = 0; r < runs; r++)
    for (const [i, [op, dur]] of kernels.entries()) {
      events.push({ cat: 'Node', name: `n${i}_kernel_time`, ts, dur, tid: 1, args: { op_name: op } });
      ts += dur + 1;
    }
  return events;
}

const STATIC_CNN = trace(
  [
    ['QuantizeLinear', 20],
    ['QLinearConv', 50],
    ['DequantizeLinear', 10],
    ['HardSwish', 15],
    ['QuantizeLinear', 10],
    ['QLinearConv', 40],
    ['Reshape', 5],
  ],
  2,
);

describe('qdqShare and opShares', () => {
  it('add up the conversions, and count nodes per run', () => {
    const profile = summarizeOrtProfile(STATIC_CNN, 2);
    expect(qdqShare(profile)).toBeCloseTo(40 / 150, 12);
    const shares = Object.fromEntries(opShares(profile).map((o) => [o.opType, o]));
    expect(shares.QuantizeLinear).toMatchObject({ nodes: 2, kind: 'convert', msPerRun: 0.03 });
    expect(shares.QLinearConv).toMatchObject({ nodes: 2, kind: 'integer' });
    expect(shares.HardSwish.kind).toBe('float');
    expect(shares.Reshape.kind).toBe('layout');
  });

  it('know onnxruntime’s fused integer kernels', () => {
    for (const op of ['QLinearMatMul', 'QGemm', 'MatMulInteger', 'DynamicQuantizeMatMul', 'MatMulNBits'])
      expect(kernelKind(op)).toBe('integer');
    expect(kernelKind('DynamicQuantizeLinear')).toBe('convert');
  });
});

const slower = (over: Partial<SpeedCheckResult>): SpeedCheckResult => ({
  runtime: 'onnxruntime-node',
  threads: 1,
  runs: 50,
  interleaved: true,
  floatP50Ms: 20,
  quantizedP50Ms: 25,
  speedup: 0.8,
  topOps: opShares(summarizeOrtProfile(STATIC_CNN, 2)),
  qdqShare: 40 / 150,
  kernelsPerRun: 7,
  profiledOn: 'onnxruntime-node',
  ...over,
});

describe('explainSlowdown', () => {
  it('names the Q/DQ share and the ops that ran in float between conversions', () => {
    expect(explainSlowdown(slower({}))).toBe(
      'QuantizeLinear+DequantizeLinear are 27 % of kernel time, around ops that ran in float (no integer kernel): HardSwish ×1',
    );
  });

  it('calls a model of many tiny kernels overhead-bound, first', () => {
    const why = explainSlowdown(slower({ floatP50Ms: 0.9, quantizedP50Ms: 1.2, kernelsPerRun: 200 }));
    expect(why).toMatch(/^overhead-bound: a 0\.90 ms model; the quantized one runs 200 kernels in 1\.20 ms, 6 µs each/);
    expect(why).toContain('QuantizeLinear+DequantizeLinear are 27 %');
  });

  it('says where the profile came from when the target has no profiler', () => {
    const why = explainSlowdown(slower({ runtime: 'onnxruntime-web' }));
    expect(why).toMatch(/\(profiled on onnxruntime-node\)$/);
  });

  it("blames the target's integer kernels when the profiler's runtime runs them faster than float", () => {
    const why = explainSlowdown(
      slower({ runtime: 'onnxruntime-web', kernelMsPerRun: 0.15, floatKernelMsPerRun: 0.3, floatTopOps: [] }),
    );
    expect(why).toMatch(
      /^onnxruntime-web's integer kernels are the cause: on onnxruntime-node the same int8 kernels take 2\.00x less time than the float ones/,
    );
  });

  it('names the int8 kernels that take longer than the float kernels they replace', () => {
    const floatOps = opShares(
      summarizeOrtProfile(
        trace(
          [
            ['Conv', 30],
            ['HardSwish', 15],
            ['Reshape', 5],
          ],
          2,
        ),
        2,
      ),
    );
    const why = explainSlowdown(slower({ kernelMsPerRun: 0.15, floatKernelMsPerRun: 0.05, floatTopOps: floatOps }));
    expect(why).toContain(
      'the int8 kernels take longer than the float ones (0.15 against 0.05 ms per run: QLinearConv 0.09 ms against Conv 0.03 ms)',
    );
  });

  it('says when little time is in integer kernels, and when there is no profile at all', () => {
    const floaty = opShares(
      summarizeOrtProfile(
        trace(
          [
            ['Mul', 80],
            ['QLinearConv', 10],
            ['Add', 10],
          ],
          1,
        ),
        1,
      ),
    );
    expect(explainSlowdown(slower({ topOps: floaty, qdqShare: 0 }))).toBe(
      'only 10 % of kernel time is in integer kernels',
    );
    expect(
      explainSlowdown(slower({ topOps: [], profileUnavailable: 'onnxruntime-web does not write profiles' })),
    ).toMatch(/^no profile to say why \(onnxruntime-web does not write profiles\)/);
  });
});
