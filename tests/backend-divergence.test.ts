/**
 * onnxruntime-node and onnxruntime-web (wasm) side by side on the same ONNX test cases:
 * every case where they do not behave alike is listed by name with the reason
 * (.tmp/backend-divergences.txt), and each must be explained.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { WebBackend } from '@edgeml/runtime-web';
import { toleranceMismatch } from '@edgeml/core';
import { conformanceCases, runBackendCase, type CaseOutcome } from '@edgeml/testing';

/** Ops whose outputs are random draws: two runtimes legitimately differ. */
const RANDOM_OPS = new Set([
  'Bernoulli',
  'RandomNormal',
  'RandomNormalLike',
  'RandomUniform',
  'RandomUniformLike',
  'Multinomial',
  'Dropout',
]);

function outputsDiffer(a: CaseOutcome, b: CaseOutcome): string | undefined {
  if (!('outputs' in a) || !('outputs' in b)) return undefined;
  for (const [k, set] of a.outputs.entries()) {
    for (const [name, t] of Object.entries(set)) {
      const why = toleranceMismatch(b.outputs[k][name], t);
      if (why) return `output '${name}' (web vs node): ${why}`;
    }
  }
  return undefined;
}

describe('onnxruntime-node vs onnxruntime-web', () => {
  it('behave alike on the conformance cases, every divergence named and explained', async () => {
    const node = new NodeBackend(),
      web = new WebBackend();
    const divergences: { name: string; kind: string; detail: string }[] = [];
    for (const c of conformanceCases()) {
      const [a, b] = [await runBackendCase(node, c), await runBackendCase(web, c)];
      if (a.kind === 'not-applicable') continue;
      const ran = (o: CaseOutcome) => o.kind === 'pass' || o.kind === 'disagrees';
      if (ran(a) && !ran(b))
        divergences.push({ name: c.name, kind: 'only node runs it', detail: (b as { reason: string }).reason });
      else if (!ran(a) && ran(b))
        divergences.push({ name: c.name, kind: 'only web runs it', detail: (a as { reason: string }).reason });
      else if (ran(a) && ran(b)) {
        const differ = outputsDiffer(a, b);
        if (!differ) continue;
        const ops = new Set([...decodeModel(new Uint8Array(fs.readFileSync(c.model))).graph].map((n) => n.opType));
        const random = [...ops].filter((o) => RANDOM_OPS.has(o));
        divergences.push({
          name: c.name,
          kind: random.length ? `different random draws (${random.join(', ')})` : 'different numbers',
          detail: differ,
        });
      }
    }
    const file = path.join('.tmp', 'backend-divergences.txt');
    fs.mkdirSync('.tmp', { recursive: true });
    fs.writeFileSync(
      file,
      [
        `onnxruntime-node ${node.version} vs onnxruntime-web ${web.version} (wasm): ${divergences.length} divergences`,
        ...divergences.map((d) => `  - ${d.name}: ${d.kind}: ${d.detail}`),
      ].join('\n') + '\n',
    );
    console.log(fs.readFileSync(file, 'utf8'));
    // Numbers may only differ where the op draws random numbers.
    expect(divergences.filter((d) => d.kind === 'different numbers')).toEqual([]);
    // What web cannot run, it must say clearly: which op has no kernel, or why it could not load.
    for (const d of divergences.filter((x) => x.kind === 'only node runs it'))
      expect(d.detail, d.name).toMatch(/has no kernel for \S+|could not create a session|run failed/);
  });
});
