/**
 * Peak memory of one static `edgeml quantize` on a ~100 MB float model (goal: peak RSS at most
 * 2.5x the model's size). The CLI runs in a child process, so the figure is its own peak RSS
 * (getrusage maxrss), Node's and onnxruntime's own memory included.
 * Run: node bench/quantize-memory.mjs [path/to/packages/cli/dist/bin.js ...]
 * With several bin.js paths (e.g. a checkout of an older commit), each is measured on the same model.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Graph, Model, Tensor, encodeModel, encodeNpy, tensorType } from '@edgeml/core';

const WIDTH = 2048;
const LAYERS = 6; // 6 x 2048 x 2048 float32 = 100.7 MB of weights

function mlp() {
  const g = new Graph('mlp');
  let v = g.addInput('x', tensorType('float32', [1, WIDTH]));
  for (let i = 0; i < LAYERS; i++) {
    const w = Float32Array.from({ length: WIDTH * WIDTH }, (_, j) => Math.sin(j * 0.001 + i) * 0.02);
    v = g.op('MatMul', [v, g.addInitializer(`w${i}`, Tensor.from('float32', [WIDTH, WIDTH], w))]).outputs[0];
    v = g.op('Relu', [v]).outputs[0];
  }
  v.name = 'y';
  v.type = tensorType('float32', [1, WIDTH]);
  g.outputs.push(v);
  return new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 });
}

const here = path.dirname(fileURLToPath(import.meta.url));
const bins = (
  process.argv.slice(2).length ? process.argv.slice(2) : [path.join(here, '..', 'packages', 'cli', 'dist', 'bin.js')]
).map((b) => path.resolve(b));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-qmem-'));
const model = path.join(dir, 'mlp.onnx');
fs.writeFileSync(model, encodeModel(mlp()));
const samples = path.join(dir, 'samples');
fs.mkdirSync(samples);
for (let s = 0; s < 8; s++)
  fs.writeFileSync(
    path.join(samples, `${s}.npy`),
    encodeNpy(
      Tensor.from(
        'float32',
        [1, WIDTH],
        Float32Array.from({ length: WIDTH }, (_, i) => Math.sin(i * 0.01 + s)),
      ),
    ),
  );
const size = fs.statSync(model).size;
console.log(`model: ${(size / 2 ** 20).toFixed(1)} MiB, 8 calibration samples`);
for (const bin of bins) {
  // maxRSS is reported in KiB; the exit hook runs however the CLI ends.
  const script = `process.on('exit', () => process.stderr.write('MAXRSS ' + process.resourceUsage().maxRSS + '\\n')); process.argv.splice(1, 0, ${JSON.stringify(bin)}); await import(${JSON.stringify(pathToFileURL(bin).href)});`;
  const args = [
    '--input-type=module',
    '-e',
    script,
    'quantize',
    model,
    '-o',
    path.join(dir, 'q.onnx'),
    '--mode',
    'static',
    '--calibration',
    samples,
    '--json',
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const rss = Number(/MAXRSS (\d+)/.exec(r.stderr)?.[1]) * 1024;
  if (r.status !== 0 || !rss) {
    console.error(`${bin}: exit ${r.status}\n${r.stderr}`);
    process.exitCode = 1;
    continue;
  }
  console.log(`${bin}: peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB = ${(rss / size).toFixed(2)}x the model`);
}
fs.rmSync(dir, { recursive: true, force: true });
