/**
 * Built-in passes, checked with onnxruntime as the oracle: a transformed model must load,
 * run, and give the original's outputs on the same inputs; the ONNX checker must accept it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  PassManager,
  fixDimensionsPass,
  fixDimensions,
  freezeInputs,
  Tensor,
  batchNormFolding,
  constantFolding,
  deadCodeElimination,
  identityElimination,
  shapeInference,
  decodeModel,
  encodeModel,
  modelStats,
  Graph,
  Model,
  tensorType,
  PassContractError,
  type Pass,
} from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { SILERO_VAD, buildConvBnNet, maxAbsDiff, randomTensor, runOrt, sileroFeeds } from './support/models.js';
import { checkModels } from './support/onnx-checker.js';
import { listCases } from './support/testdata.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-passes-'));

function expectValid(bytes: Uint8Array, name: string): void {
  const file = path.join(tmp, `${name}.onnx`);
  fs.writeFileSync(file, bytes);
  expect(checkModels([file]).get(file)).toBeNull();
}

describe('BatchNormalization folding', () => {
  it('removes every BN after Conv, depthwise Conv and Gemm, and onnxruntime gives the same logits', async () => {
    const original = buildConvBnNet();
    const before = encodeModel(original);
    expectValid(before, 'convbn-original');
    const feeds = { x: randomTensor([2, 3, 16, 16], 99) };
    const expected = await runOrt(before, feeds);

    const model = decodeModel(before);
    const { modified } = await new PassManager([batchNormFolding(), deadCodeElimination()]).run(model);
    expect(modified).toBe(true);
    expect(modelStats(model).opCounts.BatchNormalization).toBeUndefined();
    expect(model.graph.outputs[0].name).toBe('logits');
    const after = encodeModel(model);
    expectValid(after, 'convbn-folded');
    const got = await runOrt(after, feeds);
    expect(got.logits.dims).toEqual(expected.logits.dims);
    expect(maxAbsDiff(got.logits, expected.logits)).toBeLessThan(1e-4);
    // The folded model is smaller: BN parameters are gone.
    expect(modelStats(model).parameters).toBeLessThan(modelStats(decodeModel(before)).parameters);
  });
});

describe('constant folding, identity and dead-code elimination on Silero VAD', () => {
  it('with batch and sequence fixed, shrinks the graph and keeps outputs bit-identical on onnxruntime', async () => {
    const feeds = sileroFeeds();
    const expected = await runOrt(SILERO_VAD, feeds);
    const model = await loadModel(SILERO_VAD);
    const nodesBefore = modelStats(model).totalNodeCount;
    const result = await new PassManager(
      [
        fixDimensionsPass({ batch: 1, sequence: 512 }),
        shapeInference({ strict: false }),
        constantFolding(),
        identityElimination(),
        deadCodeElimination(),
      ],
      { fixedPoint: true },
    ).run(model);
    expect(result.modified).toBe(true);
    const nodesAfter = modelStats(model).totalNodeCount;
    expect(nodesAfter).toBeLessThan(nodesBefore);
    const bytes = encodeModel(model);
    expectValid(bytes, 'silero-optimized');
    const got = await runOrt(bytes, feeds);
    for (const name of Object.keys(expected)) {
      expect(got[name].dims).toEqual(expected[name].dims);
      expect(
        Buffer.from((got[name].data as Float32Array).buffer).equals(
          Buffer.from((expected[name].data as Float32Array).buffer),
        ),
      ).toBe(true);
    }
    console.log(`Silero VAD: ${nodesBefore} nodes (with subgraphs) -> ${nodesAfter} after folding/identity/DCE`);
  });

  it('specialised to 16 kHz (sr frozen), inlines every If, outputs still bit-identical', async () => {
    const feeds = sileroFeeds(3);
    const expected = await runOrt(SILERO_VAD, feeds);
    const model = await loadModel(SILERO_VAD);
    fixDimensions(model, { batch: 1, sequence: 512 });
    freezeInputs(model, { sr: Tensor.from('int64', [], [16000n]) });
    await new PassManager(
      [shapeInference({ strict: false }), constantFolding(), identityElimination(), deadCodeElimination()],
      { fixedPoint: true },
    ).run(model);
    const stats = modelStats(model);
    expect(stats.opCounts.If).toBeUndefined();
    expect(stats.totalNodeCount).toBeLessThan(100);
    expect(model.graph.outputs.map((v) => v.name)).toEqual(['output', 'hn', 'cn']);
    expect(model.graph.inputs.map((v) => v.name)).toEqual(['input', 'h', 'c']);
    const bytes = encodeModel(model);
    expectValid(bytes, 'silero-16k');
    const { sr: _sr, ...rest } = feeds;
    const got = await runOrt(bytes, rest);
    for (const name of ['output', 'hn', 'cn'])
      expect(
        Buffer.from((got[name].data as Float32Array).buffer).equals(
          Buffer.from((expected[name].data as Float32Array).buffer),
        ),
      ).toBe(true);
  });

  it('keeps every ONNX test-data model runnable with outputs identical to the original', async () => {
    // Oracle: the test case's own inputs through onnxruntime, before and after the passes.
    const { decodeTensor } = await import('@edgeml/core');
    const cases = listCases(['node', 'pytorch-converted', 'pytorch-operator', 'simple']);
    let compared = 0;
    const failures: string[] = [];
    for (const c of cases) {
      const bytes = new Uint8Array(fs.readFileSync(c.model));
      const set = c.dataSets[0];
      if (!set) continue;
      let feedsList;
      let expected;
      try {
        const probe = decodeModel(bytes);
        const names = probe.graph.inputs.filter((v) => !probe.graph.initializers.has(v.name)).map((v) => v.name);
        feedsList = Object.fromEntries(set.inputs.map((f, i) => [names[i], decodeTensor(fs.readFileSync(f))]));
        expected = await runOrt(bytes, feedsList);
      } catch {
        continue; // onnxruntime cannot run this case at all (listed by the conformance test).
      }
      const model = decodeModel(bytes);
      try {
        await new PassManager(
          [shapeInference({ strict: false }), constantFolding(), identityElimination(), deadCodeElimination()],
          { fixedPoint: true },
        ).run(model);
        const got = await runOrt(encodeModel(model), feedsList);
        for (const [name, t] of Object.entries(expected)) {
          const g = got[name];
          const same =
            g &&
            g.dims.join() === t.dims.join() &&
            (t.type === 'string'
              ? JSON.stringify(g.data) === JSON.stringify(t.data)
              : Buffer.from(
                  (g.data as Uint8Array).buffer,
                  (g.data as Uint8Array).byteOffset,
                  (g.data as Uint8Array).byteLength,
                ).equals(
                  Buffer.from(
                    (t.data as Uint8Array).buffer,
                    (t.data as Uint8Array).byteOffset,
                    (t.data as Uint8Array).byteLength,
                  ),
                ));
          // Random ops (RandomNormal, Bernoulli, training Dropout) give different draws on every run: no comparison there.
          if (!same && !c.name.includes('random') && !c.name.includes('bernoulli') && !c.name.includes('dropout'))
            failures.push(`${c.name}: output ${name} differs`);
        }
        compared++;
      } catch (e) {
        failures.push(`${c.name}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    console.log(`passes kept ${compared} test-data models identical on onnxruntime; ${failures.length} failures`);
    expect(failures).toEqual([]);
    expect(compared).toBeGreaterThan(900);
  }, 600_000);
});

describe('constant folding of ops whose kernels had gaps', () => {
  it('folds three-input Max and Min and Flatten with a negative axis to what onnxruntime computes', async () => {
    // Found by running the conformance suite on core's evaluator: the kernels read only two
    // inputs of the variadic ops, and counted a negative Flatten axis from rank + 1.
    const g = new Graph('folding_gaps');
    const x = g.addInput('x', tensorType('float32', [1]));
    const [a, b, c] = [
      [3, 2, 1],
      [1, 3, 4],
      [2, 5, 3],
    ].map((v, i) => g.addInitializer(`c${i}`, Tensor.from('float32', [3], v)));
    const grid = g.addInitializer('grid', randomTensor([2, 3, 4, 5], 7));
    const folded = [
      g.op('Max', [a, b, c]),
      g.op('Min', [a, b, c]),
      g.op('Flatten', [grid], { axis: -2 }),
      g.op('Flatten', [grid], { axis: -4 }),
    ].map((n) => n.outputs[0]);
    // Each folded value reaches an output through x, so the graph keeps an input to feed.
    folded.forEach((v, i) => {
      const y = g.op('Add', [v, x]).outputs[0];
      y.name = `y${i}`;
      g.outputs.push(y);
    });
    const original = new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 });
    const feeds = { x: Tensor.from('float32', [1], [0]) };
    const expected = await runOrt(encodeModel(original), feeds);
    const model = decodeModel(encodeModel(original));
    await new PassManager([constantFolding(), deadCodeElimination()]).run(model);
    expect([...model.graph].map((n) => n.opType)).toEqual(['Add', 'Add', 'Add', 'Add']);
    const got = await runOrt(encodeModel(model), feeds);
    for (const name of ['y0', 'y1', 'y2', 'y3']) {
      expect(got[name].dims, name).toEqual(expected[name].dims);
      expect(Array.from(got[name].data as Float32Array), name).toEqual(Array.from(expected[name].data as Float32Array));
    }
    expect(Array.from(got.y0.data as Float32Array)).toEqual([3, 5, 4]);
    expect(got.y2.dims).toEqual([6, 20]);
  });
});

describe('PassManager contract', () => {
  it('rejects an in-place pass that returns another model, and a pass that leaves a cycle', async () => {
    const model = buildConvBnNet();
    const liar: Pass = { name: 'liar', inPlace: true, run: () => ({ model: buildConvBnNet(), modified: true }) };
    await expect(new PassManager([liar]).run(model)).rejects.toBeInstanceOf(PassContractError);
    const cyclic: Pass = {
      name: 'cyclic',
      inPlace: true,
      run(m) {
        const [a, b] = m.graph.nodes;
        a.setInput(0, b.outputs[0]);
        return { model: m, modified: true };
      },
    };
    await expect(new PassManager([cyclic]).run(model)).rejects.toThrow(/cycle/);
    const dangling: Pass = {
      name: 'dangling',
      inPlace: true,
      run(m) {
        m.graph.remove(m.graph.findNode('relu1')!, { safe: false });
        return { model: m, modified: true };
      },
    };
    await expect(new PassManager([dangling]).run(buildConvBnNet())).rejects.toThrow(
      /left an invalid graph: node 'conv2' input 0 reads 'relu1_out'/,
    );
  });

  it('stops at a fixed point', async () => {
    const model = buildConvBnNet();
    const { log } = await new PassManager([batchNormFolding(), deadCodeElimination()], { fixedPoint: true }).run(model);
    expect(log.at(-1)!.modified).toBe(false);
    expect(log.length).toBe(4);
  });
});
