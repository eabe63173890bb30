/**
 * simplify() on models real exporters wrote (paddle2onnx, PyTorch, tf2onnx), as npm packages ship
 * them: onnxruntime must give the simplified model the input's outputs, names and shapes kept.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, seededRandom, simplify, type Model } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { maxRelativeDiff as relativeDiff, runModel } from '../packages/core/src/testing/fusion-check.js';
import { OWW_MODEL, PPOCR_V4_DET } from './support/model-cache.js';

function feedsFor(model: Model, shapes: Record<string, readonly number[]>): Record<string, Tensor> {
  const rand = seededRandom(3);
  const feeds: Record<string, Tensor> = {};
  for (const v of model.graph.inputs) {
    if (model.graph.initializers.has(v.name)) continue;
    const dims = shapes[v.name] ?? (v.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    feeds[v.name] = Tensor.from(
      'float32',
      dims,
      Float32Array.from({ length: n }, () => rand() * 2 - 1),
    );
  }
  return feeds;
}

/** Largest output difference of `b` from `a` on onnxruntime-node, relative to each output's largest magnitude (≥ 1). */
async function maxRelativeDiff(a: Model, b: Model, feeds: Record<string, Tensor>): Promise<number> {
  return relativeDiff(await runModel(a, feeds), await runModel(b, feeds));
}

describe('simplify on real models', () => {
  it('PP-OCRv4 det (paddle2onnx): 342 Constants lifted, then ≥ 20 % fewer nodes from fusion, same outputs', async () => {
    const model = await loadModel(PPOCR_V4_DET());
    const shapes = { x: [1, 3, 96, 96] };
    const { model: out, report } = await simplify(model, { shapes });
    expect(report.before.nodes).toBe(672);
    expect(report.rewrites['constant-lifting']).toBe(342);
    expect(report.afterLifting.nodes).toBe(330);
    expect(report.rewrites['hard-swish']).toBe(24);
    expect(report.after.nodes).toBeLessThanOrEqual(0.8 * report.afterLifting.nodes);
    expect(report.after.sizeBytes).toBeLessThan(report.before.sizeBytes);
    expect(out.graph.outputs.map((v) => v.name)).toEqual(model.graph.outputs.map((v) => v.name));
    expect(await maxRelativeDiff(model, out, feedsFor(model, shapes))).toBeLessThanOrEqual(1e-5);
    expect(model.graph.size).toBe(672); // the input is untouched
  });

  it('hey_jarvis (PyTorch) at opset 17: both decomposed LayerNorms become LayerNormalization', async () => {
    const model = await loadModel(OWW_MODEL('hey_jarvis_v0.1'));
    // Every op of this opset-13 export means the same at opset 17 (the converter's job in general).
    model.opsetImports.set('', 17);
    const { model: out, report } = await simplify(model);
    expect(report.rewrites['layer-normalization']).toBe(4); // two in the main graph, two in an If branch
    expect(out.graph.nodes.filter((n) => n.opType === 'LayerNormalization')).toHaveLength(2);
    expect(out.graph.nodes.some((n) => n.opType === 'ReduceMean')).toBe(false);
    expect(await maxRelativeDiff(model, out, feedsFor(model, {}))).toBeLessThanOrEqual(1e-5);
  });

  it('openWakeWord melspectrogram and embedding (PyTorch, tf2onnx): no growth, same outputs', async () => {
    for (const [name, shapes] of [
      ['melspectrogram', { input: [1, 1280] }],
      ['embedding_model', { input_1: [1, 76, 32, 1] }],
    ] as const) {
      const model = await loadModel(OWW_MODEL(name));
      const { model: out, report } = await simplify(model, { shapes: { ...shapes } });
      expect(report.after.nodes).toBeLessThanOrEqual(report.before.nodes);
      expect(report.after.sizeBytes).toBeLessThanOrEqual(report.before.sizeBytes);
      expect(await maxRelativeDiff(model, out, feedsFor(model, { ...shapes }))).toBeLessThanOrEqual(1e-5);
    }
  });
});
