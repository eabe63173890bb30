/**
 * ONNX codec speed on a generated model with >= 100 MB of float weights, side by side with
 * onnx-proto (protobufjs) in one run: decode and encode, median of several rounds.
 * Run: pnpm bench (or node --expose-gc bench/codec.mjs).
 */
import onnxProto from 'onnx-proto';
import { Graph, Model, Tensor, tensorType, encodeModel, decodeModel } from '@edgeml/core';
import { median, time } from './stats.mjs';

const { onnx } = onnxProto;
const LAYERS = 25;
const WIDTH = 1024; // 25 x 1024 x 1024 float32 = 104.9 MB
const ROUNDS = Number(process.env.ROUNDS ?? 7);

function buildModel() {
  const g = new Graph('mlp');
  let v = g.addInput('x', tensorType('float32', [1, WIDTH]));
  for (let i = 0; i < LAYERS; i++) {
    const w = new Float32Array(WIDTH * WIDTH);
    for (let j = 0; j < w.length; j += 97) w[j] = (j % 13) / 13;
    const wv = g.addInitializer(`w${i}`, Tensor.from('float32', [WIDTH, WIDTH], w));
    v = g.op('MatMul', [v, wv], {}, { name: `mm${i}` }).outputs[0];
    v = g.op('Relu', [v], {}, { name: `relu${i}` }).outputs[0];
  }
  v.type = tensorType('float32', [1, WIDTH]);
  g.outputs.push(v);
  return new Model(g, { opsetImports: new Map([['', 17]]) });
}

const bytes = encodeModel(buildModel());
console.log(
  `model: ${(bytes.byteLength / 1e6).toFixed(1)} MB, ${LAYERS * 2} nodes, ${LAYERS} initializers; ${ROUNDS} rounds, median`,
);

const results = { ours: { decode: [], encode: [] }, protobufjs: { decode: [], encode: [] } };
for (let r = 0; r < ROUNDS; r++) {
  globalThis.gc?.();
  const [d1, model] = time(() => decodeModel(bytes));
  const [e1, out] = time(() => encodeModel(model));
  if (out.byteLength !== bytes.byteLength) throw new Error('round trip changed the size');
  globalThis.gc?.();
  const [d2, msg] = time(() => onnx.ModelProto.decode(bytes));
  const [e2, out2] = time(() => onnx.ModelProto.encode(msg).finish());
  if (out2.byteLength !== bytes.byteLength) throw new Error('protobufjs round trip changed the size');
  results.ours.decode.push(d1);
  results.ours.encode.push(e1);
  results.protobufjs.decode.push(d2);
  results.protobufjs.encode.push(e2);
}
// The floor for any one-buffer encoder: allocate the output and copy every tensor's bytes into it.
const floor = [];
{
  const m = decodeModel(bytes);
  const views = [...m.graph.initializers.values()].map((v) => v.const.bytes);
  for (let r = 0; r < ROUNDS; r++) {
    globalThis.gc?.();
    floor.push(
      time(() => {
        const out = new Uint8Array(bytes.byteLength);
        let o = 0;
        for (const b of views) {
          out.set(b, o);
          o += b.byteLength;
        }
        return out;
      })[0],
    );
  }
}
const row = (name, r) => `| ${name} | ${median(r.decode).toFixed(2)} ms | ${median(r.encode).toFixed(1)} ms |`;
console.log('| codec | decode | encode |\n|---|---|---|');
console.log(row('@edgeml/core', results.ours));
console.log(row('onnx-proto (protobufjs)', results.protobufjs));
console.log(
  `| memory floor: allocate ${(bytes.byteLength / 1e6).toFixed(0)} MB + copy the tensor bytes | — | ${median(floor).toFixed(1)} ms |`,
);
console.log(
  `encode speed-up over protobufjs: ${(median(results.protobufjs.encode) / median(results.ours.encode)).toFixed(1)}x; decode ratio: ${(median(results.protobufjs.decode) / median(results.ours.decode)).toFixed(2)}x`,
);

// Writing a file: the path users take (saveModel). Ours gathers tensor views into one writev;
// protobufjs must build the whole buffer first.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeModelChunks } from '@edgeml/core';
import { saveModel } from '@edgeml/core/node';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-bench-'));
const model = decodeModel(bytes);
const onnxMsg = onnx.ModelProto.decode(bytes);
const chunked = [],
  saved = [],
  pbFile = [];
for (let r = 0; r < ROUNDS; r++) {
  globalThis.gc?.();
  chunked.push(time(() => encodeModelChunks(model))[0]);
  const t0 = process.hrtime.bigint();
  await saveModel(path.join(dir, 'ours.onnx'), model);
  saved.push(Number(process.hrtime.bigint() - t0) / 1e6);
  globalThis.gc?.();
  pbFile.push(time(() => fs.writeFileSync(path.join(dir, 'pb.onnx'), onnx.ModelProto.encode(onnxMsg).finish()))[0]);
}
if (!fs.readFileSync(path.join(dir, 'ours.onnx')).equals(Buffer.from(bytes)))
  throw new Error('saved file differs from the encoded bytes');
console.log('\n| encode path | median |\n|---|---|');
console.log(`| @edgeml/core encodeModelChunks (tensor bytes referenced) | ${median(chunked).toFixed(2)} ms |`);
console.log(`| @edgeml/core encodeModel (one buffer) | ${median(results.ours.encode).toFixed(1)} ms |`);
console.log(`| onnx-proto encode (one buffer) | ${median(results.protobufjs.encode).toFixed(1)} ms |`);
console.log(`| @edgeml/core saveModel (atomic: temp file, writev, fsync, rename) | ${median(saved).toFixed(1)} ms |`);
console.log(`| onnx-proto encode + fs.writeFileSync (no fsync) | ${median(pbFile).toFixed(1)} ms |`);
console.log(
  `encodeModelChunks vs onnx-proto encode: ${(median(results.protobufjs.encode) / median(chunked)).toFixed(0)}x faster`,
);
fs.rmSync(dir, { recursive: true, force: true });
