import { EdgeMLError } from '@edgeml/core';

/**
 * A secure aggregation round cannot finish: fewer than `threshold` clients are left at a step
 * that needs them (SecAgg aborts rather than weaken the threshold). {@link simulate} redoes
 * such a round with fresh keys and, if it fails again, keeps the global weights for that round.
 */
export class SecureAggregationAbortedError extends EdgeMLError {
  readonly step: 'share-keys' | 'masked-input' | 'unmask';
  readonly survivors: number;
  readonly threshold: number;
  constructor(
    message: string,
    details: { step: SecureAggregationAbortedError['step']; survivors: number; threshold: number },
  ) {
    super('E_SECAGG_ABORTED', message);
    this.name = 'SecureAggregationAbortedError';
    this.step = details.step;
    this.survivors = details.survivors;
    this.threshold = details.threshold;
  }
}

/**
 * A client refused an unmasking request that would expose another client's input: the server
 * asked for both the self-mask seed share and the mask-key share of the same client (in one
 * request or across two), or sent a request inconsistent with the round. `client` is the one
 * refusing, `peer` the one it protects.
 */
export class SecureAggregationRefusedError extends EdgeMLError {
  readonly client: number;
  readonly peer: number;
  constructor(message: string, details: { client: number; peer: number }) {
    super('E_SECAGG_REFUSED', message);
    this.name = 'SecureAggregationRefusedError';
    this.client = details.client;
    this.peer = details.peer;
  }
}
