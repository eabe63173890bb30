import * as fs from 'node:fs';
import { InvalidArgumentError } from '@edgeml/core';
import { loadModel, saveModel } from '@edgeml/core/node';
import { TrainableModel } from '@edgeml/distill';
import { FederatedClient, FlowerClient, type FlowerMessageReport } from '@edgeml/federated';
import { grpcFleetTransport } from '@edgeml/federated/node';
import type { CommandContext } from '../command.js';
import { UsageError } from '../cli-error.js';
import { dataFor, forModel } from '../model-data.js';
import { intOption, numberOption, stringOption } from '../options.js';

/** The document `edgeml federated client --json` prints. */
export interface FederatedClientReport {
  superlink: string;
  model: string;
  data: string;
  nodeId: string;
  messages: (Omit<FlowerMessageReport, 'runId' | 'config'> & { runId: string; config: Record<string, unknown> })[];
  output?: string;
}

export const CLIENT_HELP = `
edgeml federated client: a Flower SuperNode in TypeScript. Connects to a Flower SuperLink's Fleet
API over gRPC (Flower 1.26 protocol; the SuperLink's default Fleet port is 9092), registers a node,
and answers the ServerApp's messages until --max-messages or --idle-timeout (or Ctrl-C):
"train" trains --model on the local data with the message's config (lr, local-epochs,
batch-size, proximal-mu override --lr, --local-epochs, --batch) and replies with the new arrays
and a MetricRecord (train_loss, num-examples); "evaluate" replies with eval_loss, eval_acc and
num-examples; "query" replies with the current arrays.

Options:
  --superlink <host:port>    the SuperLink's Fleet API address
  --insecure                 plain-text gRPC (a SuperLink started with --insecure)
  --root-certificates <pem>  CA certificates for TLS (default: the system's)
  --model <file>             the model the ServerApp trains (architecture and names of the arrays)
  --data <dir|mnist>         this client's local data; --validation <dir> what "evaluate" measures
  --max-messages <n>         stop after n messages
  --idle-timeout <s>         stop after s seconds without a message (default: never)
  --heartbeat-interval <s>   heartbeat interval promised to the SuperLink (default 30)
  -o, --output <file>        write the model with its last weights when done

Example:
  edgeml federated client --superlink 127.0.0.1:9092 --insecure --model mlp.onnx --data mnist --idle-timeout 600`;

const summary = (r: FlowerMessageReport) =>
  `${r.messageType}${r.groupId ? ` (round ${r.groupId})` : ''}: ` +
  Object.entries(r.metrics)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join(', ');

export async function runClient({ values, positionals, stdout, stderr }: CommandContext): Promise<void> {
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`, 'federated');
  for (const key of ['superlink', 'model', 'data'] as const)
    if (typeof values[key] !== 'string') throw new UsageError(`--${key} is required`, 'federated');
  const [superlink, modelFile, dataSpec] = [values.superlink, values.model, values.data] as string[];
  if (!/^[^\s:]+:\d+$|^\[[0-9a-f:]+\]:\d+$/i.test(superlink))
    throw new UsageError(`--superlink takes host:port, got '${superlink}'`, 'federated');
  const maxMessages = intOption(values, 'max-messages', 1);
  const idle = numberOption(values, 'idle-timeout', (n) => n > 0, 'a positive number of seconds');
  const heartbeatInterval = numberOption(values, 'heartbeat-interval', (n) => n >= 1, 'at least 1 second', 30);
  const certs = stringOption(values, 'root-certificates');
  if (certs && !fs.existsSync(certs))
    throw new InvalidArgumentError(`certificate file '${certs}' does not exist`, 'root-certificates');
  if (!fs.existsSync(modelFile)) throw new InvalidArgumentError(`model file '${modelFile}' does not exist`, 'model');
  const model = await loadModel(modelFile);
  const inputNames = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name)).map((v) => v.name);
  const raw = await dataFor(dataSpec, inputNames, stringOption(values, 'validation'), model);
  const trainable = await TrainableModel.fromModel(model);
  const flower = new FlowerClient(
    new FederatedClient(trainable, forModel(raw.train, model), raw.test ? forModel(raw.test, model) : undefined),
    {
      transport: grpcFleetTransport(superlink, {
        insecure: values.insecure === true,
        rootCertificates: certs ? fs.readFileSync(certs) : undefined,
      }),
      heartbeatInterval,
      training: {
        epochs: intOption(values, 'local-epochs', 1, 1)!,
        batchSize: intOption(values, 'batch', 1, 32)!,
        learningRate: numberOption(values, 'lr', (n) => n > 0, 'a positive number', 1e-3),
      },
    },
  );
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  let messages: FlowerMessageReport[];
  let nodeId: bigint;
  try {
    nodeId = await flower.connect();
    if (!values.json) stderr(`connected to ${superlink} as node ${nodeId}\n`);
    messages = await flower.run({
      maxMessages,
      idleTimeout: idle === undefined ? undefined : idle * 1000,
      signal: abort.signal,
      onMessage: (r) => values.json || stderr(`${summary(r)}\n`),
    });
  } finally {
    process.off('SIGINT', onSignal);
    await flower.close().catch(() => undefined); // the SuperLink may already be gone
  }
  const output = stringOption(values, 'output');
  if (output) await saveModel(output, trainable.toModel());
  const report: FederatedClientReport = {
    superlink,
    model: modelFile,
    data: dataSpec,
    nodeId: String(nodeId),
    messages: messages.map((m) => ({
      ...m,
      runId: String(m.runId),
      config: Object.fromEntries(Object.entries(m.config).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
    })),
    output,
  };
  stdout(
    values.json
      ? JSON.stringify(report, null, 2) + '\n'
      : `answered ${messages.length} message${messages.length === 1 ? '' : 's'} as node ${nodeId}${output ? `; wrote ${output}` : ''}\n`,
  );
}
