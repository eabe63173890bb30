/** error.name per code. */
const ERROR_NAMES: Record<string, string> = {
  E_MODEL_FORMAT: 'ModelFormatError',
  E_EXTERNAL_DATA: 'ExternalDataError',
  E_UNSUPPORTED_OP: 'UnsupportedOpError',
  E_SHAPE: 'ShapeError',
  E_BACKEND: 'BackendError',
  E_INVALID_ARGUMENT: 'InvalidArgumentError',
  E_GRAPH: 'GraphError',
  E_PASS_CONTRACT: 'PassContractError',
  E_NOT_APPLICABLE: 'NotApplicableError',
  E_OPSET_CONVERSION: 'OpsetConversionError',
};

/**
 * Typed errors. Every failure a user can cause is one of these, and its message names the
 * file, node or field involved and says what to do about it.
 *
 * @example
 * ```ts
 * try { decodeModel(bytes); } catch (e) {
 *   if (e instanceof ModelFormatError) console.error(e.fieldPath, e.byteOffset);
 * }
 * ```
 */

export class EdgeMLError extends Error {
  /** Stable machine-readable code, e.g. `E_MODEL_FORMAT`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    // Spelled out, not new.target.name: bundlers minify class names, and users match on error.name.
    this.name = ERROR_NAMES[code] ?? 'EdgeMLError';
    this.code = code;
  }
}

/** The bytes are not a valid ONNX model; `byteOffset` and `fieldPath` say where. */
export class ModelFormatError extends EdgeMLError {
  readonly byteOffset?: number;
  readonly fieldPath?: string;
  readonly file?: string;
  constructor(
    message: string,
    details: { byteOffset?: number; fieldPath?: string; file?: string; cause?: unknown } = {},
  ) {
    super('E_MODEL_FORMAT', message, { cause: details.cause });
    this.byteOffset = details.byteOffset;
    this.fieldPath = details.fieldPath;
    this.file = details.file;
  }
}

/** External tensor data is missing, out of range, or points outside the model's folder. */
export class ExternalDataError extends EdgeMLError {
  readonly tensorName?: string;
  readonly location?: string;
  constructor(message: string, details: { tensorName?: string; location?: string; cause?: unknown } = {}) {
    super('E_EXTERNAL_DATA', message, { cause: details.cause });
    this.tensorName = details.tensorName;
    this.location = details.location;
  }
}

/** An operator (in a domain, at an opset) that this component cannot handle. */
export class UnsupportedOpError extends EdgeMLError {
  readonly opType: string;
  readonly domain: string;
  readonly opset?: number;
  readonly nodeName?: string;
  constructor(opType: string, domain: string, opset: number | undefined, message: string, nodeName?: string) {
    super('E_UNSUPPORTED_OP', message);
    this.opType = opType;
    this.domain = domain;
    this.opset = opset;
    this.nodeName = nodeName;
  }
}

/** Shapes that cannot work together (broadcast, reshape, matmul...). */
export class ShapeError extends EdgeMLError {
  readonly nodeName?: string;
  constructor(message: string, nodeName?: string) {
    super('E_SHAPE', message);
    this.nodeName = nodeName;
  }
}

/** A runtime backend failed to initialise, create a session, or run. */
export class BackendError extends EdgeMLError {
  readonly backend?: string;
  constructor(message: string, details: { backend?: string; cause?: unknown } = {}) {
    super('E_BACKEND', message, { cause: details.cause });
    this.backend = details.backend;
  }
}

/** An option or argument given by the caller is invalid; `option` names it. */
export class InvalidArgumentError extends EdgeMLError {
  readonly option?: string;
  constructor(message: string, option?: string) {
    super('E_INVALID_ARGUMENT', message);
    this.option = option;
  }
}

/** The graph breaks an IR invariant (dangling input, cycle, duplicate producer...). */
export class GraphError extends EdgeMLError {
  readonly nodeName?: string;
  constructor(message: string, nodeName?: string) {
    super('E_GRAPH', message);
    this.nodeName = nodeName;
  }
}

/**
 * The operation would change nothing in this model (a mode with no node to apply to, a
 * pruning method with nothing to prune); `operation` names it and `instead`, when set, names
 * what would apply.
 */
export class NotApplicableError extends EdgeMLError {
  readonly operation: string;
  readonly instead?: string;
  constructor(message: string, operation: string, instead?: string) {
    super('E_NOT_APPLICABLE', message);
    this.operation = operation;
    this.instead = instead;
  }
}

/**
 * A node cannot be converted exactly between two opsets of the default ONNX domain: the
 * target opset lacks the op, or its form there cannot express what the node does (a
 * non-constant input that would have to become an attribute, a mode with no equivalent).
 * `from` and `to` are the opsets of the step that failed; the message says what to do.
 * `nodeName` and `opType` are empty when the model as a whole is refused (an opset outside 7-21).
 */
export class OpsetConversionError extends EdgeMLError {
  readonly nodeName: string;
  readonly opType: string;
  readonly from: number;
  readonly to: number;
  constructor(details: { nodeName: string; opType: string; from: number; to: number }, message: string) {
    super('E_OPSET_CONVERSION', message);
    this.nodeName = details.nodeName;
    this.opType = details.opType;
    this.from = details.from;
    this.to = details.to;
  }
}
