/** Weight quantization against a NumPy transcription of onnxruntime's formulas. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Tensor } from '@edgeml/core';
import { quantizeWeight } from './quant-params.js';

const ORACLE = `
import sys, json, numpy as np
a = np.frombuffer(sys.stdin.buffer.read(), np.float32).reshape(6, 50)
out = {}
for name, qmin, qmax, sym, axis in [('int8_sym', -127, 127, True, None), ('uint8_asym', 0, 255, False, None), ('int8_sym_axis0', -127, 127, True, 0)]:
    def q(x):
        lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
        if sym:
            m = max(abs(lo), abs(hi)); lo, hi = -m, m
        scale = np.float32((hi - lo) / (qmax - qmin)) or np.float32(1)
        zp = 0 if sym else int(np.clip(np.rint(qmin - lo / scale), qmin, qmax))
        return np.clip(np.rint(x / scale) + zp, qmin, qmax).astype(int).ravel().tolist(), float(scale), zp
    if axis is None:
        vals, s, z = q(a); out[name] = {'q': vals, 's': [s], 'z': [z]}
    else:
        rows = [q(a[i]) for i in range(a.shape[0])]
        out[name] = {'q': sum([r[0] for r in rows], []), 's': [r[1] for r in rows], 'z': [r[2] for r in rows]}
print(json.dumps(out))
`;

describe('quantizeWeight', () => {
  it('matches onnxruntime formulas (NumPy transcription) per tensor and per channel, including exact halves', () => {
    const values = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i * 1.3) * (i % 7) * 0.3);
    values[5] = 0.5;
    values[6] = -0.5;
    values[7] = 2.5;
    const res = spawnSync('/usr/bin/python3', ['-c', ORACLE], { input: Buffer.from(values.buffer) });
    const expected = JSON.parse(res.stdout.toString());
    const w = Tensor.from('float32', [6, 50], values);
    const cases = {
      int8_sym: { type: 'int8', symmetric: true },
      uint8_asym: { type: 'uint8', symmetric: false },
      int8_sym_axis0: { type: 'int8', symmetric: true, axis: 0 },
    } as const;
    for (const [name, opts] of Object.entries(cases)) {
      const r = quantizeWeight(w, opts);
      expect(Array.from(r.quantized.data as Int8Array), name).toEqual(expected[name].q);
      expect(
        Array.from(r.scale.data).map((s) => Math.fround(s)),
        name,
      ).toEqual(expected[name].s.map((s: number) => Math.fround(s)));
      expect(r.zeroPoint.toNumbers(), name).toEqual(expected[name].z);
    }
  });
});
