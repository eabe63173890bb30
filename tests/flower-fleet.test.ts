/**
 * EdgeML's Flower client against a Fleet API server built in this test on @grpc/grpc-js with
 * the same protocol declarations (Flower 1.26.1): node registration with Flower's node
 * authentication, heartbeats, a "train" message carrying a real trained MNIST CNN's weights as
 * .npy arrays, the reply's arrays and metrics, "evaluate" and "query", and the typed errors for
 * an unknown message type and a SuperLink that is gone.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy, type Tensor } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { TrainableModel, evaluate, loadMnist, type TensorDataset } from '@edgeml/distill';
import {
  CLIENT_APP_RAISED_EXCEPTION,
  FederatedClient,
  FlowerClient,
  FlowerConnectionError,
  FlowerProtocolError,
  NUMPY_STYPE,
  type FlowerArray,
  type RecordDict,
} from '@edgeml/federated';
import { FleetTestServer, grpcFleetTransport } from '@edgeml/federated/node';

const MODEL = path.join(__dirname, 'fixtures', 'mnist-cnn.onnx');

let server: FleetTestServer;
let original: Record<string, Tensor>;
let data: { train: TensorDataset; test: TensorDataset };

beforeAll(async () => {
  server = await FleetTestServer.start();
  const model = await loadModel(MODEL);
  original = Object.fromEntries([...model.graph.initializers].map(([name, v]) => [name, v.const!]));
  const { train, test } = await loadMnist();
  const shapes = { image: [null, 1, 28, 28] };
  data = {
    train: train.fitTo(shapes).split(200 / train.size, 3)[1],
    test: test.fitTo(shapes).split(200 / test.size, 4)[1],
  };
});
afterAll(() => server.stop());

/** The model file's own initializers as a Flower ArrayRecord (encoded by core's .npy writer, not the client). */
function arrayRecord(weights: Record<string, Tensor>): RecordDict {
  const arrays = new Map<string, FlowerArray>(
    Object.entries(weights).map(([k, t]) => [
      k,
      { dtype: t.dtype, shape: [...t.dims], stype: NUMPY_STYPE, data: encodeNpy(t) },
    ]),
  );
  return new Map([['arrays', { kind: 'arrays', arrays }]]);
}

const bytesOf = (t: Tensor) => Buffer.from(t.bytes).toString('hex');

async function newClient() {
  const trainable = await TrainableModel.fromModel(await loadModel(MODEL));
  return new FlowerClient(new FederatedClient(trainable, data.train, data.test), {
    transport: grpcFleetTransport(server.address, { insecure: true }),
    heartbeatInterval: 0.2,
    pollInterval: 20,
  });
}

describe('Flower Fleet protocol client', () => {
  it('registers, trains on a train message, replies with changed arrays and metrics, evaluates, answers a query bit-exactly, and leaves', async () => {
    const flower = await newClient();
    const nodeId = await flower.connect();
    expect(nodeId).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER)); // survives as a 64-bit integer
    expect(server.nodes()).toEqual([expect.objectContaining({ nodeId, active: true })]);

    const content = arrayRecord(original);
    content.set('config', {
      kind: 'config',
      values: new Map<string, bigint | number>([
        ['server-round', 1n],
        ['lr', 0.01],
        ['local-epochs', 1n],
      ]),
    });
    const trainId = await server.send('train', content, { groupId: '1' });
    const report = await flower.poll();
    expect(report).toMatchObject({ messageId: trainId, messageType: 'train', groupId: '1', runId: server.runId });
    expect(report!.config).toEqual({ 'server-round': 1n, lr: 0.01, 'local-epochs': 1n });
    expect(server.confirmed.has(trainId)).toBe(true);

    const reply = await server.reply(trainId);
    expect(reply.error).toBeUndefined();
    expect(reply.metadata).toMatchObject({ replyToMessageId: trainId, srcNodeId: nodeId, dstNodeId: 1n, groupId: '1' });
    const arrays = reply.content!.get('arrays');
    const metrics = reply.content!.get('metrics');
    if (arrays?.kind !== 'arrays' || metrics?.kind !== 'metrics') throw new Error('reply lacks arrays or metrics');
    expect([...arrays.arrays.keys()]).toEqual(Object.keys(original));
    expect(metrics.values.get('num-examples')).toBe(200n);
    expect(metrics.values.get('train_loss')).toBeCloseTo(report!.metrics.train_loss, 10);
    const trained = flower.client.getWeights();
    for (const [name, a] of arrays.arrays) {
      const t = decodeNpy(a.data);
      expect({ dtype: a.dtype, shape: a.shape, stype: a.stype }).toEqual({
        dtype: 'float32',
        shape: [...original[name].dims],
        stype: NUMPY_STYPE,
      });
      expect(bytesOf(t)).toBe(bytesOf(trained[name])); // what the client trained, bit for bit
      expect(bytesOf(t)).not.toBe(bytesOf(original[name])); // and training moved every weight tensor
    }

    // Evaluate the original weights: the client's model then holds exactly the bytes sent.
    const evalId = await server.send('evaluate', arrayRecord(original), { groupId: '1' });
    const evalReport = await flower.poll();
    const evalReply = await server.reply(evalId);
    for (const [name, t] of Object.entries(flower.client.getWeights()))
      expect(bytesOf(t)).toBe(bytesOf(original[name]));
    const direct = await evaluate(await TrainableModel.fromModel(await loadModel(MODEL)), data.test);
    const evalMetrics = evalReply.content!.get('metrics');
    if (evalMetrics?.kind !== 'metrics') throw new Error('evaluate reply lacks metrics');
    expect(evalMetrics.values.get('eval_acc')).toBeCloseTo(direct.accuracy, 10);
    expect(evalMetrics.values.get('eval_acc')).toBeGreaterThan(0.9); // a trained MNIST model
    expect(evalMetrics.values.get('num-examples')).toBe(200n);
    expect(evalReport!.metrics.eval_loss).toBeCloseTo(direct.loss, 10);
    expect(evalReply.content!.has('arrays')).toBe(false);

    // Query: the current arrays come back exactly as they went in.
    const queryId = await server.send('query', new Map([['config', { kind: 'config', values: new Map() }]]));
    await flower.poll();
    const queried = (await server.reply(queryId)).content!.get('arrays');
    if (queried?.kind !== 'arrays') throw new Error('query reply lacks arrays');
    for (const [name, a] of queried.arrays) expect(bytesOf(decodeNpy(a.data))).toBe(bytesOf(original[name]));

    expect(server.nodes()[0].heartbeats).toBeGreaterThan(0);
    await flower.close();
    expect(server.nodes()).toEqual([]);
    expect(server.calls).toEqual(
      expect.arrayContaining([
        'RegisterNode',
        'ActivateNode',
        'SendNodeHeartbeat',
        'PullMessages',
        'PullObject',
        'ConfirmMessageReceived',
        'PushMessages',
        'PushObject',
        'DeactivateNode',
        'UnregisterNode',
      ]),
    );
  });

  it('run() answers messages until idle; an unknown message type gets an error reply and a FlowerProtocolError', async () => {
    const flower = await newClient();
    await flower.connect();
    const evalId = await server.send('evaluate.custom', arrayRecord(original));
    const reports = await flower.run({ idleTimeout: 200 });
    expect(reports.map((r) => r.messageId)).toEqual([evalId]);
    expect((await server.reply(evalId)).content!.get('metrics')).toBeDefined();

    const oddId = await server.send('fancy', arrayRecord(original));
    await expect(flower.run()).rejects.toThrow(FlowerProtocolError);
    const reply = await server.reply(oddId);
    expect(reply.content).toBeUndefined();
    expect(reply.error).toEqual({ code: CLIENT_APP_RAISED_EXCEPTION, reason: expect.stringContaining("type 'fancy'") });

    // Arrays for another model: the client says so, in an error reply too.
    const wrongId = await server.send('train', arrayRecord({ w: original['fc.bias'] }));
    await expect(flower.poll()).rejects.toThrow(/1 arrays, the model 4 weights/);
    expect((await server.reply(wrongId)).error?.reason).toMatch(/InvalidArgumentError/);
    await flower.close();
  });

  it('a SuperLink that is not there, or goes away, is a FlowerConnectionError naming the call', async () => {
    const gone = await FleetTestServer.start();
    const flower = await newClient();
    (flower.options as { transport: unknown }).transport = grpcFleetTransport(gone.address, {
      insecure: true,
      deadline: 5000,
    });
    await flower.connect();
    await gone.stop();
    const error = await flower.poll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowerConnectionError);
    expect(error).toMatchObject({ rpc: 'PullMessages', status: 14 }); // gRPC UNAVAILABLE
    const never = await newClient();
    (never.options as { transport: unknown }).transport = grpcFleetTransport(gone.address, {
      insecure: true,
      deadline: 5000,
    });
    await expect(never.connect()).rejects.toMatchObject({ name: 'FlowerConnectionError', rpc: 'RegisterNode' });
  });
});
