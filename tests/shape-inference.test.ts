/**
 * Shape inference against onnxruntime: every intermediate value of each test-data model
 * (and of Silero VAD with fixed input sizes) is exposed as a graph output and the model is
 * run; every shape we inferred as fully static must equal the shape onnxruntime produced.
 * Declared value_info and output types are removed first, so nothing is echoed back.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeModel,
  decodeTensor,
  encodeModel,
  fixDimensions,
  inferShapes,
  type Model,
  type Value,
} from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { SILERO_VAD, runOrt, sileroFeeds } from './support/models.js';
import { listCases } from './support/testdata.js';

/** Forget declared intermediate and output types; keep graph inputs (they are the premise). */
function stripTypes(model: Model): void {
  const inputs = new Set(model.graph.inputs);
  for (const n of model.graph) for (const o of n.outputs) if (!inputs.has(o)) o.type = undefined;
  model.graph.extraValueInfo.length = 0;
}

/** Expose every node output of the main graph as a graph output, returning the values inferred as static. */
function exposeIntermediates(model: Model): Value[] {
  const staticValues: Value[] = [];
  const outs = new Set(model.graph.outputs);
  for (const n of model.graph) {
    for (const o of n.outputs) {
      if (!o.name || outs.has(o)) continue;
      if (o.type?.kind !== 'tensor' || !o.type.shape || !o.type.dtype) continue;
      model.graph.outputs.push(o);
      outs.add(o);
    }
  }
  for (const v of model.graph.outputs)
    if (v.type?.kind === 'tensor' && v.type.shape?.every((d) => typeof d === 'number')) staticValues.push(v);
  return staticValues;
}

async function compareWithOrt(
  model: Model,
  feeds: Parameters<typeof runOrt>[1],
  label: string,
  mismatches: string[],
): Promise<number> {
  const checked = exposeIntermediates(model);
  const got = await runOrt(encodeModel(model), feeds);
  let n = 0;
  for (const v of checked) {
    const actual = got[v.name];
    if (!actual) continue;
    n++;
    if (actual.dims.join(',') !== v.shape!.join(','))
      mismatches.push(
        `${label}: '${v.name}' (${v.producer()?.opType}) inferred [${v.shape}] but onnxruntime gives [${actual.dims}]`,
      );
    const t = v.type?.kind === 'tensor' ? v.type.dtype : undefined;
    if (t && actual.type !== t)
      mismatches.push(
        `${label}: '${v.name}' (${v.producer()?.opType}) inferred ${t} but onnxruntime gives ${actual.type}`,
      );
  }
  return n;
}

describe('shape inference', () => {
  it('matches onnxruntime on every intermediate value of the ONNX test-data models', async () => {
    const mismatches: string[] = [];
    let values = 0,
      models = 0;
    for (const c of listCases()) {
      const set = c.dataSets[0];
      if (!set) continue;
      const bytes = new Uint8Array(fs.readFileSync(c.model));
      const model = decodeModel(bytes);
      const inputNames = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name)).map((v) => v.name);
      let feeds;
      try {
        feeds = Object.fromEntries(set.inputs.map((f, i) => [inputNames[i], decodeTensor(fs.readFileSync(f))]));
        await runOrt(bytes, feeds);
      } catch {
        continue; // onnxruntime cannot run the original; nothing to compare with.
      }
      stripTypes(model);
      inferShapes(model, { strict: false });
      try {
        values += await compareWithOrt(model, feeds, c.name, mismatches);
        models++;
      } catch (e) {
        mismatches.push(`${c.name}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    console.log(
      `shape inference: ${values} static shapes in ${models} models compared with onnxruntime; ${mismatches.length} mismatches`,
    );
    expect(mismatches).toEqual([]);
    expect(values).toBeGreaterThan(1000);
  }, 600_000);

  it('resolves Silero VAD intermediate shapes once batch and sequence are fixed', async () => {
    const model = await loadModel(SILERO_VAD);
    fixDimensions(model, { batch: 1, sequence: 512 });
    stripTypes(model);
    inferShapes(model);
    const mismatches: string[] = [];
    const n = await compareWithOrt(model, sileroFeeds(), 'silero', mismatches);
    expect(mismatches).toEqual([]);
    expect(model.graph.outputs.find((v) => v.name === 'output')?.shape).toEqual([1, 1]);
    expect(n).toBeGreaterThanOrEqual(3);
  });
});
