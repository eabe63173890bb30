/**
 * The gRPC transport for {@link FleetTransport}, on `@grpc/grpc-js` (pure JavaScript, Node
 * only): unary calls to `/flwr.proto.Fleet/<Method>` with this package's own protobuf
 * (de)serializers, the node-authentication headers as call metadata.
 */
import * as grpc from '@grpc/grpc-js';
import { FlowerConnectionError } from './errors.js';
import { fleetPath, type FleetRpc } from './proto.js';
import type { FleetTransport } from './transport.js';

/** How to reach the SuperLink. */
export interface GrpcFleetOptions {
  /** Plain-text HTTP/2, as `flower-supernode --insecure` (a SuperLink started with `--insecure`). */
  insecure?: boolean;
  /** PEM root certificates for TLS (default: the system's). */
  rootCertificates?: Uint8Array;
  /** Milliseconds one call may take (default 60 000). */
  deadline?: number;
}

const identity = (b: Buffer | Uint8Array) =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * A Fleet API connection over gRPC to `address` (`host:port`; a SuperLink serves the Fleet API
 * on 9092 by default).
 *
 * @example
 * ```ts
 * const transport = grpcFleetTransport('127.0.0.1:9092', { insecure: true });
 * ```
 */
export function grpcFleetTransport(address: string, options: GrpcFleetOptions = {}): FleetTransport {
  const credentials = options.insecure
    ? grpc.credentials.createInsecure()
    : grpc.credentials.createSsl(options.rootCertificates ? identity(options.rootCertificates) : null);
  // Flower's GRPC_MAX_MESSAGE_LENGTH: 512 MiB either way.
  const limit = 536_870_912;
  const client = new grpc.Client(address, credentials, {
    'grpc.max_send_message_length': limit,
    'grpc.max_receive_message_length': limit,
  });
  return {
    unary(rpc: FleetRpc, request, auth) {
      const metadata = new grpc.Metadata();
      metadata.set('flwr-public-key-bin', identity(auth.publicKey));
      metadata.set('flwr-timestamp', auth.timestamp);
      metadata.set('flwr-signature-bin', identity(auth.signature));
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          fleetPath(rpc),
          identity,
          (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
          request,
          metadata,
          { deadline: Date.now() + (options.deadline ?? 60_000) },
          (error, response) => {
            if (error)
              reject(
                new FlowerConnectionError(
                  `Fleet.${rpc} to ${address} failed: ${grpc.status[error.code] ?? error.code} ${error.details}` +
                    (error.code === grpc.status.UNAVAILABLE
                      ? ' (is the SuperLink running, and --insecure right?)'
                      : ''),
                  { rpc, status: error.code, cause: error },
                ),
              );
            else resolve(response!);
          },
        );
      });
    },
    close() {
      client.close();
    },
  };
}
