/** `edgeml federated simulate` end to end on MNIST .npy folders: report, ε, checkpoints, resume, and errors. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { encodeModel } from '@edgeml/core';
import { buildCnn } from '@edgeml/distill';
import { RdpAccountant, SHARE_MESSAGE_BYTES, shamirShareBytes } from '@edgeml/federated';
import { runCli } from './testing/run-cli.js';
import { mnistNpyFolders } from './testing/npy-folder.js';
import type { FederatedSimulateReport } from './commands/federated.js';
import type { FederatedClientReport } from './commands/federated-client.js';

describe('edgeml federated simulate', () => {
  it('trains among non-IID clients with DP and secure aggregation, reports ε and bytes, checkpoints and resumes', async () => {
    const { dir } = await mnistNpyFolders('edgeml-federated-cli-', 300, 100);
    const model = path.join(dir, 'mlp.onnx');
    fs.writeFileSync(
      model,
      encodeModel(buildCnn({ input: [1, 28, 28], convs: [], hidden: [16], classes: 10, seed: 2 })),
    );
    const out = path.join(dir, 'global.onnx');
    // Temporary paths hold no spaces: the command line splits on them.
    const args = (
      `federated simulate --model ${model} --data ${path.join(dir, 'train')} --validation ${path.join(dir, 'val')} -o ${out} ` +
      '--clients 3 --rounds 2 --non-iid 1 --clip 1 --noise-multiplier 0.8 --secure-aggregation --batch 25 --json'
    ).split(' ');
    const { code, out: stdout, err } = await runCli([...args, '--checkpoint-dir', path.join(dir, 'ckpt')]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as FederatedSimulateReport;
    expect(report.rounds).toHaveLength(2);
    expect(report.clientSizes.reduce((a, b) => a + b, 0)).toBe(300);
    const accountant = new RdpAccountant();
    accountant.step(1, 0.8, 2);
    expect(report.epsilon).toBeCloseTo(accountant.epsilon(1e-5).epsilon, 10);
    expect(report.rounds.every((r) => r.accuracy! >= 0 && r.bytesSent > 0)).toBe(true);
    // SecAgg's extra upload per client, from the wire format: two public keys, an encrypted share message
    // per peer, a seed share per survivor in the unmask answer, 48-bit masked values (one more: the weight).
    const values = report.rounds[0].bytesDense / 4 / 3;
    const extra = 2 * 65 + 2 * SHARE_MESSAGE_BYTES + 3 * (2 + shamirShareBytes(32)) + 6 * (values + 1) - 4 * values;
    expect(report.secureAggregation).toEqual({ threshold: 2, extraBytesPerClient: extra, abortedRounds: [] });
    expect(report.rounds[0].bytesSent).toBe(3 * (4 * values + extra));
    const session = await ort.InferenceSession.create(out);
    const logits = (await session.run({ image: new ort.Tensor('float32', new Float32Array(784), [1, 1, 28, 28]) }))
      .logits;
    expect(logits.dims).toEqual([1, 10]);
    await session.release();
    expect(fs.readdirSync(path.join(dir, 'ckpt')).sort()).toEqual(['round-1.ckpt', 'round-2.ckpt']);

    const resumed = await runCli([...args, '--resume', path.join(dir, 'ckpt', 'round-1.ckpt')]);
    expect(resumed.code).toBe(0);
    expect((JSON.parse(resumed.out) as FederatedSimulateReport).rounds.map((r) => r.round)).toEqual([1, 2]);
  });

  it('bad usage exits 2, bad input 1, each with a one-line reason', async () => {
    expect((await runCli(['federated', 'train'])).code).toBe(2);
    const missing = await runCli(['federated', 'simulate', '--model', 'nope.onnx', '--data', 'mnist', '-o', 'x.onnx']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/model file 'nope.onnx' does not exist/);
    const simulateArgs = 'federated simulate --model m.onnx --data mnist -o x.onnx'.split(' ');
    expect((await runCli([...simulateArgs, '--compress', 'zip'])).code).toBe(2);
    const threshold = await runCli([...simulateArgs, '--secure-threshold', '2']);
    expect(threshold.code).toBe(2);
    expect(threshold.err).toMatch(/--secure-threshold goes with --secure-aggregation/);
    const help = await runCli(['federated', '--help']);
    expect(help.out).toMatch(/--secure-aggregation/);
  });
});

describe('edgeml federated client', () => {
  it('answers a train and an evaluate message from a Fleet server and prints the report; bad usage exits 2', async () => {
    const { FleetTestServer } = await import('@edgeml/federated/node');
    const { encodeNpy } = await import('@edgeml/core');
    const { dir } = await mnistNpyFolders('edgeml-federated-client-', 120, 60);
    const built = buildCnn({ input: [1, 28, 28], convs: [], hidden: [16], classes: 10, seed: 4 });
    const model = path.join(dir, 'mlp.onnx');
    fs.writeFileSync(model, encodeModel(built));
    const server = await FleetTestServer.start();
    try {
      const arrays = new Map(
        [...built.graph.initializers].map(([name, v]) => {
          const t = v.const!;
          return [name, { dtype: t.dtype, shape: [...t.dims], stype: 'numpy.ndarray', data: encodeNpy(t) }];
        }),
      );
      const content = new Map([
        ['arrays', { kind: 'arrays' as const, arrays }],
        ['config', { kind: 'config' as const, values: new Map([['local-epochs', 2n]]) }],
      ]);
      const out = path.join(dir, 'trained.onnx');
      const cli = runCli(
        `federated client --superlink ${server.address} --insecure --model ${model} --data ${path.join(dir, 'train')} --validation ${path.join(dir, 'val')} --max-messages 2 -o ${out} --json`.split(
          ' ',
        ),
      );
      const trainId = await server.send('train', content, { groupId: '1' });
      const evalId = await server.send('evaluate', new Map([['arrays', { kind: 'arrays' as const, arrays }]]));
      const { code, out: stdout, err } = await cli;
      expect(err).toBe('');
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as FederatedClientReport;
      expect(report.messages.map((m) => [m.messageId, m.messageType])).toEqual([
        [trainId, 'train'],
        [evalId, 'evaluate'],
      ]);
      expect(report.messages[0].config).toEqual({ 'local-epochs': 2 });
      expect(report.messages[0].metrics['num-examples']).toBe(120);
      expect(report.messages[1].metrics['num-examples']).toBe(60);
      const evalReply = await server.reply(evalId);
      const metrics = evalReply.content!.get('metrics');
      expect(metrics?.kind === 'metrics' && metrics.values.get('eval_acc')).toBe(report.messages[1].metrics.eval_acc);
      expect(fs.existsSync(out)).toBe(true);
    } finally {
      await server.stop();
    }
    const usage = await runCli([
      'federated',
      'client',
      '--superlink',
      'nohost',
      '--model',
      'm.onnx',
      '--data',
      'mnist',
    ]);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/host:port/);
  });
});
