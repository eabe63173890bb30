/**
 * A Backend that is not onnxruntime: it runs a model node by node, in topological order, on
 * core's constant evaluator (`evaluateNode`, the kernels constant folding uses). It exists to
 * show that the conformance suite holds any backend to the contract, not to be fast.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  opEntry,
  BackendError,
  CONSTANT_KERNELS,
  EdgeMLError,
  InvalidArgumentError,
  Model,
  UnsupportedOpError,
  decodeModel,
  type Backend,
  type Node,
  type RunOptions,
  type Session,
  type Tensor,
  type Value,
  type ValueInfo,
} from '@edgeml/core';

const NAME = 'edgeml-constant-evaluator';
const CORE_VERSION = (
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'packages', 'core', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

const nodeLabel = (node: Node) => (node.name ? `node '${node.name}' (${node.opType})` : `a ${node.opType} node`);

function loadModel(model: Model | Uint8Array | string): Model {
  if (model instanceof Model) return model;
  let bytes: Uint8Array;
  if (typeof model === 'string') {
    if (!fs.existsSync(model)) throw new InvalidArgumentError(`model file '${model}' does not exist`, 'model');
    bytes = new Uint8Array(fs.readFileSync(model));
  } else bytes = model;
  try {
    return decodeModel(bytes);
  } catch (e) {
    throw new BackendError(`${NAME} could not read the model: ${(e as Error).message}`, { backend: NAME, cause: e });
  }
}

/** The first node no kernel exists for, as the error createSession refuses the model with. */
function unsupportedNode(model: Model): UnsupportedOpError | undefined {
  for (const node of model.graph) {
    const hasKernel = opEntry(CONSTANT_KERNELS, node) !== undefined;
    if (hasKernel && node.subgraphs().length === 0) continue;
    return new UnsupportedOpError(
      node.opType,
      node.domain,
      model.opset(node.domain),
      `${NAME} has no kernel for ${node.domain ? `${node.domain}.` : ''}${node.opType}, used by ${nodeLabel(node)}; it evaluates ${Object.keys(CONSTANT_KERNELS).join(', ')}`,
      node.name,
    );
  }
  return undefined;
}

/** A feed must have the element type and fixed sizes the model declares for that input. */
function checkFeed(input: Value, tensor: Tensor): void {
  const type = input.type?.kind === 'tensor' ? input.type : undefined;
  if (type?.dtype && type.dtype !== tensor.dtype)
    throw new BackendError(`input '${input.name}' is ${tensor.dtype}; the model declares ${type.dtype}`, {
      backend: NAME,
    });
  const shape = type?.shape;
  if (
    shape &&
    (shape.length !== tensor.dims.length || shape.some((d, i) => typeof d === 'number' && d !== tensor.dims[i]))
  )
    throw new BackendError(
      `input '${input.name}' has shape [${tensor.dims}]; the model declares [${shape.map((d) => d ?? '?')}]`,
      { backend: NAME },
    );
}

class EvaluatorSession implements Session {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  private readonly graphInputs: readonly Value[];
  private readonly order: readonly Node[];
  private disposed = false;

  constructor(private readonly model: Model) {
    const graph = model.graph;
    this.graphInputs = graph.inputs.filter((v) => !graph.initializers.has(v.name));
    this.inputs = this.graphInputs.map((v) => ({ name: v.name, type: v.type }));
    this.outputs = graph.outputs.map((v) => ({ name: v.name, type: v.type }));
    this.order = graph.topologicalOrder();
  }

  async run(feeds: Record<string, Tensor>, options: RunOptions = {}): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new BackendError('this session was disposed; create a new one', { backend: NAME });
    const names = this.graphInputs.map((v) => v.name);
    const unknown = Object.keys(feeds).find((k) => !names.includes(k));
    if (unknown)
      throw new InvalidArgumentError(`unknown input '${unknown}'; the model takes ${names.join(', ')}`, unknown);
    const values = new Map<Value, Tensor>();
    for (const [, v] of this.model.graph.initializers) if (v.const) values.set(v, v.const);
    for (const input of this.graphInputs) {
      const tensor = feeds[input.name];
      if (!tensor)
        throw new InvalidArgumentError(
          `missing input '${input.name}'; the model takes ${names.join(', ')}`,
          input.name,
        );
      checkFeed(input, tensor);
      values.set(input, tensor);
    }
    for (const node of this.order) this.evaluate(node, values);
    const wanted = options.outputs ?? this.outputs.map((o) => o.name);
    const out: Record<string, Tensor> = {};
    for (const name of wanted) {
      const value = this.model.graph.outputs.find((v) => v.name === name);
      if (!value) throw new InvalidArgumentError(`unknown output '${name}'`, 'outputs');
      out[name] = values.get(value)!;
    }
    return out;
  }

  private evaluate(node: Node, values: Map<Value, Tensor>): void {
    const opset = this.model.opset(node.domain) ?? 1;
    let results: Tensor[] | undefined;
    try {
      results = opEntry(CONSTANT_KERNELS, node)!(
        node,
        node.inputs.map((v) => (v ? values.get(v) : undefined)),
        opset,
      );
    } catch (e) {
      if (e instanceof EdgeMLError && !(e instanceof BackendError))
        throw new BackendError(`${NAME} run failed at ${nodeLabel(node)}: ${e.message}`, { backend: NAME, cause: e });
      throw e;
    }
    // The constant evaluator declines what it cannot compute exactly (a dtype, an attribute, int64 beyond 2^53).
    if (!results)
      throw new UnsupportedOpError(
        node.opType,
        node.domain,
        opset,
        `${NAME} cannot evaluate ${nodeLabel(node)} on these inputs (an element type, attribute or value range its kernel leaves to a runtime)`,
        node.name,
      );
    node.outputs.forEach((v, i) => {
      if (v.name && results[i]) values.set(v, results[i]);
    });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

/** The Backend over core's constant evaluator. */
export class EvaluatorBackend implements Backend {
  readonly name = NAME;
  /** The evaluator is core's, so its version is core's. */
  readonly version = CORE_VERSION;

  async init(): Promise<void> {}

  async createSession(model: Model | Uint8Array | string): Promise<Session> {
    const ir = loadModel(model);
    const unsupported = unsupportedNode(ir);
    if (unsupported) throw unsupported;
    return new EvaluatorSession(ir);
  }
}
