import type { ProtoMessage } from '../onnx/schema.js';
import { cloneGraph, copyAttribute } from './clone.js';
import { Graph } from './graph.js';
import type { Attribute } from './attribute.js';

/**
 * A model-local function (ONNX FunctionProto): a body graph whose inputs and outputs are
 * the function's formal parameters, plus the attributes callers may set.
 */
export interface ModelFunction {
  domain: string;
  name: string;
  overload: string;
  /** Body; its inputs/outputs are the formal parameters. */
  graph: Graph;
  /** Attribute names without defaults. */
  attributes: string[];
  /** Attributes with default values. */
  attributeDefaults: Attribute[];
  opsetImports: Map<string, number>;
  docString: string;
  metadata: Map<string, string>;
  unknownFields?: Uint8Array[];
  /** @internal */
  explicitDefaults?: Set<string>;
}

/**
 * An ONNX model: IR version, opset imports, producer, metadata, functions and the main graph.
 *
 * @example
 * ```ts
 * const model = new Model(new Graph('main'), { opsetImports: new Map([['', 21]]) });
 * model.opset(); // 21
 * ```
 */
export class Model {
  /** Optional proto fields present with default values in the source file (kept for lossless round trips). @internal */
  explicitDefaults?: Set<string>;
  irVersion: number;
  /** Opset version per domain ('' is the default ONNX domain). */
  opsetImports: Map<string, number>;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  metadata: Map<string, string>;
  graph: Graph;
  functions: ModelFunction[];
  /** TrainingInfoProto entries, kept verbatim. */
  trainingInfo: ProtoMessage[];
  unknownFields: Uint8Array[] | undefined;

  constructor(graph: Graph, init: Partial<Omit<Model, 'graph' | 'opset'>> = {}) {
    this.graph = graph;
    this.irVersion = init.irVersion ?? 10;
    this.opsetImports = init.opsetImports ?? new Map([['', 21]]);
    this.producerName = init.producerName ?? 'edgeml';
    this.producerVersion = init.producerVersion ?? '';
    this.domain = init.domain ?? '';
    this.modelVersion = init.modelVersion ?? 0;
    this.docString = init.docString ?? '';
    this.metadata = init.metadata ?? new Map<string, string>();
    this.functions = init.functions ?? [];
    this.trainingInfo = init.trainingInfo ?? [];
    this.unknownFields = init.unknownFields;
  }

  /** The imported opset version of a domain (default: the ONNX domain); undefined if not imported. */
  opset(domain = ''): number | undefined {
    return this.opsetImports.get(domain === 'ai.onnx' ? '' : domain);
  }

  /**
   * A structural copy: new graphs, nodes and values, so editing the copy never touches this
   * model; tensors are shared, not copied (their data is read-only), so a copy of a 100 MB model
   * costs kilobytes. Use it where a pass must leave its input as it was.
   *
   * @example
   * ```ts
   * const work = model.clone();
   * await new PassManager([constantFolding()]).run(work); // `model` is unchanged
   * ```
   */
  clone(): Model {
    const copy = new Model(cloneGraph(this.graph), {
      irVersion: this.irVersion,
      opsetImports: new Map(this.opsetImports),
      producerName: this.producerName,
      producerVersion: this.producerVersion,
      domain: this.domain,
      modelVersion: this.modelVersion,
      docString: this.docString,
      metadata: new Map(this.metadata),
      functions: this.functions.map((f) => ({
        ...f,
        graph: cloneGraph(f.graph),
        attributes: [...f.attributes],
        attributeDefaults: f.attributeDefaults.map((a) => copyAttribute(a)),
        opsetImports: new Map(f.opsetImports),
        metadata: new Map(f.metadata),
        unknownFields: f.unknownFields && [...f.unknownFields],
        explicitDefaults: f.explicitDefaults && new Set(f.explicitDefaults),
      })),
      // Kept verbatim and never edited: shared.
      trainingInfo: [...this.trainingInfo],
      unknownFields: this.unknownFields && [...this.unknownFields],
    });
    if (this.explicitDefaults) copy.explicitDefaults = new Set(this.explicitDefaults);
    return copy;
  }

  /** Every graph in the model: the main graph and all subgraphs, depth first. */
  *graphs(): IterableIterator<Graph> {
    yield* walkGraphs(this.graph);
    for (const f of this.functions) yield* walkGraphs(f.graph);
  }
}

function* walkGraphs(g: Graph): IterableIterator<Graph> {
  yield g;
  for (const n of g) for (const sub of n.subgraphs()) yield* walkGraphs(sub);
}
