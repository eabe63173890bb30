/**
 * @edgeml/federated: federated learning on EdgeML's trainable executor. A {@link FederatedClient}
 * trains an ONNX model on data that stays on the device (Node or a browser) and returns its
 * update; {@link simulate} runs many clients in one process — FedAvg or FedProx, IID or
 * Dirichlet non-IID splits, client sampling, dropouts and timeouts, checkpoints — with
 * client-level differential privacy (ε from an {@link RdpAccountant}), secure aggregation
 * (SecAgg: pairwise and self masks, Shamir-shared keys; {@link SecureAggregationClient}) and compressed updates ({@link encodeUpdate}).
 * {@link FlowerClient} lets a Flower SuperLink (Flower 1.26's Fleet protocol) drive a client;
 * its gRPC transport is in `@edgeml/federated/node`.
 *
 * ```ts
 * import { buildCnn, loadMnist } from '@edgeml/distill';
 * import { simulate } from '@edgeml/federated';
 *
 * const { train, test } = await loadMnist();
 * const result = await simulate({
 *   model: buildCnn({ input: [1, 28, 28], convs: [], hidden: [64], classes: 10 }),
 *   train: train.fitTo({ image: [null, 1, 28, 28] }),
 *   test: test.fitTo({ image: [null, 1, 28, 28] }),
 *   clients: 10,
 *   rounds: 10,
 *   split: { dirichlet: 0.5 },
 *   privacy: { clipNorm: 1, noiseMultiplier: 0.5 },
 * });
 * console.log(result.rounds.map((r) => r.accuracy), result.epsilon);
 * ```
 *
 * Guide: [federated learning](../../../docs/guide.md#federated-learning).
 * @module
 */
export { FederatedClient, type FitResult, type LocalTrainingOptions } from './client.js';
export {
  simulate,
  type ClientFault,
  type PrivacyOptions,
  type RoundReport,
  type SimulationOptions,
  type SimulationResult,
} from './simulate.js';
export { partitionDataset, partitionIndices, type PartitionOptions, type PartitionScheme } from './partition.js';
export { RdpAccountant, RDP_ORDERS, epsilonFromRdp, sampledGaussianRdp } from './rdp-accountant.js';
export {
  SecureAggregationClient,
  unmaskSum,
  unmaskResponseBytes,
  MASKED_VALUE_BYTES,
  SHARE_MESSAGE_BYTES,
  type AdvertisedKeys,
  type UnmaskRequest,
  type UnmaskResponse,
} from './secure-aggregation.js';
export { SecureAggregationAbortedError, SecureAggregationRefusedError } from './secure-aggregation-errors.js';
export type { SecureAggregationOptions, SecureAggregationReport } from './secure-aggregation-round.js';
export { shamirSplit, shamirCombine, shamirShareBytes, SHAMIR_PRIME } from './shamir.js';
export { encodeUpdate, decodeUpdate, type CompressionOptions } from './compression.js';
export { encodeCheckpoint, decodeCheckpoint, type SimulationCheckpoint } from './checkpoint.js';
export { flattenWeights, unflattenWeights, type Weights } from './weights.js';
export {
  FlowerClient,
  CLIENT_APP_RAISED_EXCEPTION,
  type FlowerClientOptions,
  type FlowerMessageReport,
  type FlowerRunOptions,
} from './flower/flower-client.js';
export type { FleetTransport } from './flower/transport.js';
export { FlowerConnectionError, FlowerProtocolError } from './flower/errors.js';
export { NodeIdentity, type FleetAuthHeaders } from './flower/node-auth.js';
export {
  messageFromObjects,
  messageToObjects,
  type FlowerMessage,
  type FlowerMetadata,
  type MessageObjects,
} from './flower/message-objects.js';
export { objectId, type ObjectTree } from './flower/objects.js';
export {
  NUMPY_STYPE,
  type ConfigValue,
  type FlowerArray,
  type FlowerRecord,
  type MetricValue,
  type RecordDict,
} from './flower/records.js';
export { FLEET_RPCS, type FleetRpc } from './flower/proto.js';
