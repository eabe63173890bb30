/** Which nodes a quantizer touches: op types in scope, minus user exclusions. */
import type { Node } from '@edgeml/core';

/**
 * Nodes to leave in float: by name (`node:conv1` or a bare name), by op type
 * (`op:Gemm`), or by a predicate.
 */
export type Exclusion = readonly string[] | ((node: Node) => boolean);

export function isExcluded(node: Node, exclude: Exclusion | undefined): boolean {
  if (!exclude) return false;
  if (typeof exclude === 'function') return exclude(node);
  return exclude.some((e) =>
    e.startsWith('op:') ? node.opType === e.slice(3) : (e.startsWith('node:') ? e.slice(5) : e) === node.name,
  );
}

/** One node's outcome, for the report. */
export interface NodeOutcome {
  name: string;
  opType: string;
  /** Set for skipped nodes. */
  reason?: string;
}
