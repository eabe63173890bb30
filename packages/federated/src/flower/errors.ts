import { EdgeMLError } from '@edgeml/core';

/**
 * The SuperLink (or whatever answered) broke Flower's protocol, or sent a message this client
 * cannot handle: malformed objects, a hash that does not match, an unknown message type.
 * `messageId` names the message, `objectId` the object, when known.
 */
export class FlowerProtocolError extends EdgeMLError {
  readonly messageId?: string;
  readonly objectId?: string;
  constructor(message: string, details: { messageId?: string; objectId?: string; cause?: unknown } = {}) {
    super('E_FLOWER_PROTOCOL', message, { cause: details.cause });
    this.name = 'FlowerProtocolError';
    this.messageId = details.messageId;
    this.objectId = details.objectId;
  }
}

/**
 * A Fleet RPC failed in transport: the SuperLink is unreachable or went away, refused the
 * call (e.g. node authentication), or timed out. `rpc` names the call; `status` is the gRPC
 * status code (or HTTP status for REST) when there was one.
 */
export class FlowerConnectionError extends EdgeMLError {
  readonly rpc: string;
  readonly status?: number;
  constructor(message: string, details: { rpc: string; status?: number; cause?: unknown }) {
    super('E_FLOWER_CONNECTION', message, { cause: details.cause });
    this.name = 'FlowerConnectionError';
    this.rpc = details.rpc;
    this.status = details.status;
  }
}
