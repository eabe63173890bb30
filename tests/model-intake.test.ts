/**
 * Models as exporters write them: weights in Constant nodes (every value* attribute form),
 * inside If branches, and float16 weights behind a Cast. The models are built by the official
 * onnx Python helpers (Debian's python3-onnx), not by EdgeML; onnxruntime is the judge.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { NotApplicableError, Tensor, decodeModel, encodeModel, modelStats, prepare, type Model } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { quantize } from '@edgeml/quantize';
import { prune } from '@edgeml/prune';
import { loadModel } from '@edgeml/core/node';
import { SILERO_VAD } from './support/model-cache.js';

/** Run a Python snippet that prints a model's bytes as base64; `m` is the model it builds. */
function pythonModel(body: string): Model {
  const script = `
import base64, sys, numpy as np, onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
${body}
onnx.checker.check_model(m)
sys.stdout.write(base64.b64encode(m.SerializeToString()).decode())
`;
  const res = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (res.status !== 0) throw new Error(`python3-onnx failed: ${res.stderr}`);
  return decodeModel(new Uint8Array(Buffer.from(res.stdout, 'base64')));
}

/** Outputs of a model on onnxruntime-node for the given float32 inputs. */
async function run(model: Model, feeds: Record<string, { data: Float32Array; dims: number[] }>) {
  const session = await ort.InferenceSession.create(encodeModel(model));
  const tensors = Object.fromEntries(
    Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)]),
  );
  const out = await session.run(tensors);
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.data as Float32Array)]));
}

const x = { data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) * 3), dims: [3, 4] };

// One Constant per attribute form, each feeding arithmetic so its value shows in the output.
const EVERY_FORM = `
w = np.linspace(-1, 1, 16, dtype=np.float32).reshape(4, 4)
nodes = [
  h.make_node('Constant', [], ['w'], value=nh.from_array(w)),
  h.make_node('Constant', [], ['f'], value_float=0.5),
  h.make_node('Constant', [], ['fs'], value_floats=[1.0, 2.0, 3.0, 4.0]),
  h.make_node('Constant', [], ['i'], value_int=2),
  h.make_node('Constant', [], ['is'], value_ints=[3, 4]),
  h.make_node('Constant', [], ['s'], sparse_value=h.make_sparse_tensor(
      h.make_tensor('sv', T.FLOAT, [2], [5.0, -7.0]), h.make_tensor('si', T.INT64, [2], [1, 11]), [3, 4])),
  h.make_node('MatMul', ['x', 'w'], ['mm']),
  h.make_node('Mul', ['mm', 'f'], ['a']),
  h.make_node('Add', ['a', 'fs'], ['b']),
  h.make_node('Add', ['b', 's'], ['b2']),
  h.make_node('Reshape', ['b2', 'is'], ['c']),
  h.make_node('Cast', ['i'], ['i_f'], to=T.FLOAT),
  h.make_node('Pow', ['c', 'i_f'], ['y']),
]
g = h.make_graph(nodes, 'g', [h.make_tensor_value_info('x', T.FLOAT, [3, 4])],
                 [h.make_tensor_value_info('y', T.FLOAT, [3, 4])])
m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)])
`;

describe('weights wherever exporters put them', () => {
  it('lifts every Constant attribute form to an initializer with bit-identical outputs on onnxruntime', async () => {
    const model = pythonModel(EVERY_FORM);
    const { model: lifted, prepared } = prepare(model);
    expect(prepared).toEqual([{ step: 'lift-constants', count: 6, detail: '6 Constant nodes became initializers' }]);
    expect([...lifted.graph].some((n) => n.opType === 'Constant')).toBe(false);
    expect([...model.graph].filter((n) => n.opType === 'Constant')).toHaveLength(6); // the input is untouched
    expect(await run(lifted, { x })).toEqual(await run(model, { x }));
    // 16 + 1 + 4 + 1 + 2 + 12 (densified sparse) elements, counted before and after lifting alike.
    expect(modelStats(model).parameters).toBe(36);
    expect(modelStats(lifted).parameters).toBe(36);
    expect(modelStats(model).weights.constantNodes.tensors).toBe(6);
  });

  it('lifts Constants inside If branches and quantizes and prunes the weights found there', async () => {
    const model = pythonModel(`
def branch(name, scale):
    w = (np.arange(64, dtype=np.float32).reshape(8, 8) - 32) / 32 * scale
    return h.make_graph([h.make_node('Constant', [], [name + '_w'], value=nh.from_array(w)),
                         h.make_node('MatMul', ['x', name + '_w'], [name + '_y'])],
                        name, [], [h.make_tensor_value_info(name + '_y', T.FLOAT, [2, 8])])
nodes = [h.make_node('ReduceSum', ['x'], ['sum'], keepdims=0),
         h.make_node('Constant', [], ['zero'], value_float=0.0),
         h.make_node('Greater', ['sum', 'zero'], ['cond']),
         h.make_node('If', ['cond'], ['y'], then_branch=branch('then', 1.0), else_branch=branch('else', -2.0))]
g = h.make_graph(nodes, 'g', [h.make_tensor_value_info('x', T.FLOAT, [2, 8])],
                 [h.make_tensor_value_info('y', T.FLOAT, [2, 8])])
m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)])
`);
    expect(modelStats(model).parameters).toBe(129);
    const { model: lifted } = prepare(model);
    expect(modelStats(lifted).weights.subgraphInitializers.tensors).toBe(2);
    const feeds = { x: { data: Float32Array.from({ length: 16 }, (_, i) => i / 8 - 0.5), dims: [2, 8] } };
    expect(await run(lifted, feeds)).toEqual(await run(model, feeds));

    const backend = new NodeBackend();
    const q = await quantize(model, { mode: 'dynamic', backend });
    expect(q.prepared.map((p) => p.step)).toEqual(['lift-constants']);
    expect(q.quantizedNodes.map((n) => n.opType)).toEqual(['MatMul', 'MatMul']);
    const [a, b] = [await run(model, feeds), await run(q.model, feeds)];
    const err = Math.max(...a.y.map((v, i) => Math.abs(v - b.y[i])));
    expect(err).toBeLessThan(0.05);
    const pruned = await prune(model, { method: 'magnitude', ratio: 0.5 });
    expect(pruned.layers?.length).toBe(2);
  });

  it('widens float16 weights behind a Cast so quantize finds them, and quantizes what onnxruntime then agrees with', async () => {
    const model = pythonModel(`
w = (np.arange(256, dtype=np.float32).reshape(16, 16) % 7 - 3) / 3
nodes = [h.make_node('Cast', ['w16'], ['w'], to=T.FLOAT), h.make_node('MatMul', ['x', 'w'], ['y'])]
g = h.make_graph(nodes, 'g', [h.make_tensor_value_info('x', T.FLOAT, [4, 16])],
                 [h.make_tensor_value_info('y', T.FLOAT, [4, 16])], initializer=[nh.from_array(w.astype(np.float16), 'w16')])
m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)])
`);
    expect(modelStats(model).weights.behindCast).toBe(1);
    const q = await quantize(model, { mode: 'dynamic', backend: new NodeBackend() });
    expect(q.prepared.map((p) => p.step)).toEqual(['fold-weight-casts']);
    expect(q.quantizedNodes).toHaveLength(1);
    const feeds = { x: { data: Float32Array.from({ length: 64 }, (_, i) => Math.cos(i)), dims: [4, 16] } };
    const [a, b] = [await run(model, feeds), await run(q.model, feeds)];
    expect(Math.max(...a.y.map((v, i) => Math.abs(v - b.y[i])))).toBeLessThan(0.1);
  });

  it('refuses a mode that applies to no node, naming the mode that does', async () => {
    const model = pythonModel(`
w = np.ones((4, 3, 3, 3), dtype=np.float32) / 27
g = h.make_graph([h.make_node('Conv', ['x', 'w'], ['y'])], 'g', [h.make_tensor_value_info('x', T.FLOAT, [1, 3, 8, 8])],
                 [h.make_tensor_value_info('y', T.FLOAT, [1, 4, 6, 6])], initializer=[nh.from_array(w, 'w')])
m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)])
`);
    for (const mode of ['dynamic', 'int4'] as const) {
      const e = await quantize(model, { mode }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(NotApplicableError);
      expect((e as NotApplicableError).instead).toBe('static');
      expect((e as Error).message).toMatch(
        new RegExp(`mode '${mode}' quantizes no node of this model.*Mode 'static' applies`),
      );
    }
  });

  it("fp16 keeps in float32 the layers whose values pass float16's range on the samples, and only those", async () => {
    // x·W sums 64 products of ~3e4: ~1.4e6, far past float16's 65504, and the scale that brings it
    // back (1e5) is past it too: in float16 the result is wrong or inf, whatever kernels run it.
    const model = pythonModel(`
w = np.ones((64, 8), dtype=np.float32)
nodes = [h.make_node('MatMul', ['x', 'w'], ['big']), h.make_node('Transpose', ['big'], ['big_t']),
         h.make_node('Div', ['big_t', 'scale'], ['small']), h.make_node('Relu', ['small'], ['y'])]
g = h.make_graph(nodes, 'g', [h.make_tensor_value_info('x', T.FLOAT, [2, 64])],
                 [h.make_tensor_value_info('y', T.FLOAT, [8, 2])],
                 initializer=[nh.from_array(w, 'w'), nh.from_array(np.array(1e5, dtype=np.float32), 'scale')])
m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)])
`);
    const x = { data: Float32Array.from({ length: 128 }, (_, i) => 20000 + 100 * (i % 50)), dims: [2, 64] };
    const sample = { x: Tensor.from('float32', x.dims, x.data) };
    const backend = new NodeBackend();
    const reference = (await run(model, { x })).y;
    const worst = (y: number[]) => Math.max(...reference.map((v, i) => Math.abs(v - y[i]) / Math.abs(v)));
    const blind = await quantize(model, { mode: 'fp16' });
    expect(worst((await run(blind.model, { x })).y)).toBeGreaterThan(0.1);
    const measured = await quantize(model, { mode: 'fp16', evaluationData: [sample], backend });
    expect(measured.skippedNodes.map((n) => n.opType).sort()).toEqual(['Div', 'MatMul', 'Transpose']);
    expect(measured.quantizedNodes.map((n) => n.opType)).toContain('Relu');
    expect(measured.skippedNodes[0].reason).toMatch(/'big' reaches 1\.\d+e\+6 on the samples, past float16's ±65504/);
    expect(worst((await run(measured.model, { x })).y)).toBeLessThan(1e-3);
  });

  it('channel pruning reaches convolutions inside If branches; onnxruntime gives the same outputs when the pruned channels are dead', async () => {
    const model = pythonModel(`
rng = np.random.default_rng(3)
def branch(name):
    w1 = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    w1[[2, 5]] = 0  # channels 2 and 5 output Relu(0) = 0: removing them changes nothing
    w2 = rng.standard_normal((4, 8, 3, 3)).astype(np.float32)
    return h.make_graph([h.make_node('Conv', ['x', name + '_w1'], [name + '_a'], pads=[1, 1, 1, 1]),
                         h.make_node('Relu', [name + '_a'], [name + '_r']),
                         h.make_node('Conv', [name + '_r', name + '_w2'], [name + '_y'], pads=[1, 1, 1, 1])],
                        name, [], [h.make_tensor_value_info(name + '_y', T.FLOAT, [1, 4, 6, 6])],
                        initializer=[nh.from_array(w1, name + '_w1'), nh.from_array(w2, name + '_w2')])
nodes = [h.make_node('If', ['flag'], ['y'], then_branch=branch('then'), else_branch=branch('else'))]
g = h.make_graph(nodes, 'g', [h.make_tensor_value_info('x', T.FLOAT, [1, 3, 6, 6]),
                              h.make_tensor_value_info('flag', T.BOOL, [])],
                 [h.make_tensor_value_info('y', T.FLOAT, [1, 4, 6, 6])])
m = h.make_model(g, opset_imports=[h.make_opsetid('', 13)])
`);
    const { model: pruned, groups } = await prune(model, { method: 'channel', ratio: 0.25 });
    expect(groups).toHaveLength(2);
    expect(groups!.every((g) => g.channelsBefore === 8 && g.channelsAfter === 6)).toBe(true);
    const x = Float32Array.from({ length: 108 }, (_, i) => Math.sin(i));
    for (const flag of [true, false]) {
      const outputs = async (m: Model) => {
        const session = await ort.InferenceSession.create(encodeModel(m));
        const out = await session.run({
          x: new ort.Tensor('float32', x, [1, 3, 6, 6]),
          flag: new ort.Tensor('bool', Uint8Array.from([flag ? 1 : 0]), []),
        });
        await session.release();
        return Array.from(out.y.data as Float32Array);
      };
      const [a, b] = [await outputs(model), await outputs(pruned)];
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-4);
    }
  });

  it('Silero VAD fixed to 16 kHz: its If is inlined and static int8 reaches the network it kept in the branches', async () => {
    const model = await loadModel(SILERO_VAD('silero_vad_legacy'));
    const sr = Tensor.from('int64', [], [16000n]);
    // Windows of a chirp with noise, as the VAD takes them: 512 samples in [-1, 1], zero state.
    const window = (k: number) =>
      Float32Array.from(
        { length: 512 },
        (_, i) => 0.5 * Math.sin((i * (1 + k)) / 9) + 0.1 * Math.sin(i * i * 0.37 + k),
      );
    const state = () => Tensor.from('float32', [2, 1, 64], new Float32Array(128));
    const samples = [0, 1, 2, 3, 4].map((k) => ({
      input: Tensor.from('float32', [1, 512], window(k)),
      h: state(),
      c: state(),
    }));
    const backend = new NodeBackend();
    const refused = await quantize(model, { mode: 'static', calibrationData: samples, backend }).catch(
      (e: unknown) => e,
    );
    expect((refused as Error).message).toMatch(
      /inside If\/Loop\/Scan bodies, whose activations calibration cannot observe/,
    );
    const r = await quantize(model, {
      mode: 'static',
      calibrationData: samples,
      evaluationData: samples,
      backend,
      specialize: { sr },
    });
    expect(r.prepared[0].step).toBe('specialize');
    // Samples that still hold the fixed input, read once from a generator, work as well.
    const streamed = await quantize(model, {
      mode: 'static',
      calibrationData: (function* () {
        for (const sample of samples) yield { ...sample, sr };
      })(),
      backend,
      specialize: { sr },
    });
    expect(streamed.quantizedNodes.length).toBe(r.quantizedNodes.length);
    expect(r.quantizedNodes.filter((n) => n.opType === 'Conv').length).toBeGreaterThan(10);
    // Judged by onnxruntime: the original at sr = 16000 against the specialised int8 model.
    const original = await ort.InferenceSession.create(encodeModel(model));
    const quantized = await ort.InferenceSession.create(encodeModel(r.model));
    for (const k of [5, 6]) {
      const zero = () => new ort.Tensor('float32', new Float32Array(128), [2, 1, 64]);
      const input = new ort.Tensor('float32', window(k), [1, 512]);
      const a = await original.run({
        input,
        h: zero(),
        c: zero(),
        sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
      });
      const b = await quantized.run({ input, h: zero(), c: zero() });
      expect(Math.abs((a.output.data as Float32Array)[0] - (b.output.data as Float32Array)[0])).toBeLessThan(0.05);
    }
    await original.release();
    await quantized.release();
  });
});
