/**
 * @edgeml/federated/node: the Node-only half of the Flower interop — the gRPC transport a
 * {@link FlowerClient} uses to reach a Flower SuperLink (`@grpc/grpc-js`), and
 * {@link FleetTestServer}, an in-process Fleet API server for tests and examples.
 *
 * ```ts
 * import { TrainableModel, buildCnn, loadMnist } from '@edgeml/distill';
 * import { FederatedClient, FlowerClient } from '@edgeml/federated';
 * import { grpcFleetTransport } from '@edgeml/federated/node';
 *
 * const trainable = await TrainableModel.fromModel(buildCnn({ input: [1, 28, 28], convs: [], hidden: [32], classes: 10 }));
 * const data = (await loadMnist()).train.fitTo({ image: [null, 1, 28, 28] });
 * const flower = new FlowerClient(new FederatedClient(trainable, data), {
 *   transport: grpcFleetTransport('superlink.example.org:9092', { insecure: true }),
 * });
 * await flower.connect();
 * await flower.run({ idleTimeout: 600_000 });
 * await flower.close();
 * ```
 *
 * Guide: [Flower interop](../../../docs/guide.md#flower-interop).
 * @module
 */
export { grpcFleetTransport, type GrpcFleetOptions } from './flower/grpc-transport.js';
export { FleetTestServer, SUPERLINK_NODE_ID } from './flower/test-server.js';
