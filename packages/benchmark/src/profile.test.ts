import { describe, expect, it } from 'vitest';
import { summarizeOrtProfile } from './profile.js';

const kernel = (name: string, op: string, ts: number, dur: number, tid = 1) => ({
  cat: 'Node',
  name: `${name}_kernel_time`,
  ts,
  dur,
  tid,
  args: { op_name: op, provider: 'CPUExecutionProvider' },
});

describe('summarizeOrtProfile', () => {
  it('charges subgraph kernels once: an If keeps only its own overhead', () => {
    const trace = [
      { cat: 'Session', name: 'model_run', ts: 0, dur: 200 },
      kernel('conv', 'Conv', 10, 50),
      { cat: 'Node', name: 'conv_fence_before', ts: 9, dur: 1, args: { op_name: 'Conv' } },
      kernel('if', 'If', 70, 100), // contains the next three
      kernel('inner_mul', 'Mul', 75, 30),
      kernel('inner_if', 'If', 110, 50), // nested: contains inner_add
      kernel('inner_add', 'Add', 115, 40),
      kernel('relu', 'Relu', 180, 10),
    ];
    const p = summarizeOrtProfile(trace, 1);
    const byType = Object.fromEntries(p.byOpType.map((o) => [o.opType, o.totalUs]));
    // If: (100 − 30 − 50) + (50 − 40) = 30; total = top-level durations 50 + 100 + 10 = 160.
    expect(byType).toEqual({ Conv: 50, If: 30, Add: 40, Mul: 30, Relu: 10 });
    expect(p.kernelUsPerRun).toBe(160);
    expect(p.byOpType[0]).toMatchObject({ opType: 'Conv', share: 50 / 160, calls: 1 });
    expect(p.byOpType.find((o) => o.opType === 'If')!.calls).toBe(2);
  });

  it('keeps threads apart', () => {
    const p = summarizeOrtProfile([kernel('a', 'MatMul', 0, 100, 1), kernel('b', 'Add', 10, 20, 2)], 2);
    expect(Object.fromEntries(p.byOpType.map((o) => [o.opType, o.totalUs]))).toEqual({ MatMul: 100, Add: 20 });
    expect(p.kernelUsPerRun).toBe(60);
  });

  it('refuses what is not a trace', () => {
    expect(() => summarizeOrtProfile({ events: [] }, 1)).toThrow(/JSON array of trace events/);
  });
});
