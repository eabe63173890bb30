import type { FleetAuthHeaders } from './node-auth.js';
import type { FleetRpc } from './proto.js';

/**
 * How a {@link FlowerClient} reaches a SuperLink's Fleet API: one unary call with protobuf
 * bytes in and out, carrying the node's authentication headers. `@edgeml/federated/node`'s
 * `grpcFleetTransport` speaks gRPC (what `flower-superlink` serves on port 9092); any other
 * transport (a proxy, a test double) implements this.
 *
 * A failed call rejects with a `FlowerConnectionError` naming the RPC.
 */
export interface FleetTransport {
  unary(rpc: FleetRpc, request: Uint8Array, auth: FleetAuthHeaders): Promise<Uint8Array>;
  close(): void;
}
