/** `edgeml simplify` end to end, judged by onnxruntime: on a real paddle2onnx export and on small graphs. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Graph, Model, Tensor, encodeModel, tensorType } from '@edgeml/core';
import { runCli } from './testing/run-cli.js';
import type { SimplifyCommandReport } from './commands/simplify.js';
import { OWW_MODEL, PPOCR_V4_DET } from '../../../tests/support/model-cache.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-simplify-cli-'));
const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** x * clip(x + 3, 0, 6) * `sixth`, opset 14, written to a temporary file. */
function hardSwishFile(sixth: number): string {
  const g = new Graph('hs');
  const x = g.addInput('x', tensorType('float32', ['n', 8]));
  const c = (name: string, v: number) => g.addInitializer(name, Tensor.from('float32', [], [v]));
  const clip = g.op('Clip', [g.op('Add', [x, c('three', 3)]).outputs[0], c('zero', 0), c('six', 6)]).outputs[0];
  const y = g.op('Mul', [g.op('Mul', [x, clip]).outputs[0], c('sixth', sixth)], {}, { outputs: ['y'] }).outputs[0];
  y.type = tensorType('float32', ['n', 8]);
  g.outputs.push(y);
  const file = path.join(tmp(), 'hs.onnx');
  fs.writeFileSync(file, encodeModel(new Model(g, { opsetImports: new Map([['', 14]]) })));
  return file;
}

describe('edgeml simplify', () => {
  it('PP-OCRv4 det: --json counts lifting apart from fusion, onnxruntime agrees, the input is untouched', async () => {
    const input = PPOCR_V4_DET();
    const before = sha(input);
    const out = path.join(tmp(), 'det.onnx');
    const r = await runCli(['simplify', input, '-o', out, '--shape', 'x=1x3x64x64', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.out) as SimplifyCommandReport;
    expect(rep.nodes.before).toBe(672);
    expect(rep.nodes.afterLifting).toBe(330);
    expect(rep.nodes.after).toBeLessThanOrEqual(Math.floor(0.8 * 330));
    expect(rep.rewrites).toMatchObject({ 'constant-lifting': 342, 'hard-swish': 24 });
    expect(rep.outputs).toHaveLength(1);
    expect(rep.outputs[0].relativeDiff).toBeLessThanOrEqual(1e-5);
    expect(rep.sizeBytes.after).toBe(fs.statSync(out).size);
    expect(sha(input)).toBe(before);
  });

  it('refuses to write a result whose outputs drift past --tolerance, naming the output; writes it when allowed', async () => {
    // 0.16667 is 1/6 rounded: HardSwish's exact 1/6 moves outputs by ~2e-5 relative.
    const input = hardSwishFile(0.16667);
    const out = path.join(tmp(), 'hs.simple.onnx');
    const refused = await runCli(['simplify', input, '-o', out, '--shape', 'x=4x8']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /output 'y' differs from the input model's by .* above --tolerance 0.00001; nothing was written/,
    );
    expect(fs.existsSync(out)).toBe(false);
    const allowed = await runCli(['simplify', input, '-o', out, '--shape', 'x=4x8', '--tolerance', '1e-4']);
    expect(allowed.code).toBe(0);
    expect(allowed.out).toMatch(/hard-swish\s+1/);
    expect(fs.existsSync(out)).toBe(true);
  });

  it('says to give --shape when the input model cannot run with dynamic dimensions of 1', async () => {
    const out = path.join(tmp(), 'mel.onnx');
    const r = await runCli(['simplify', OWW_MODEL('melspectrogram'), '-o', out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the input model does not run in .* on input\[1x1\].*--shape/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('has --help, and needs -o', async () => {
    const help = await runCli(['simplify', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: edgeml simplify <in.onnx> -o <out.onnx>/);
    const missing = await runCli(['simplify', hardSwishFile(1 / 6)]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/missing -o\/--output/);
  });
});
