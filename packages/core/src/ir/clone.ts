/**
 * Structural copies of graphs: new Values, Nodes and Graphs, tensors shared (tensor data is
 * read-only, so a copy costs no bytes until a pass replaces a tensor). Used by `Model.clone()`.
 */
import type { Attribute } from './attribute.js';
import { Graph } from './graph.js';
import { Node } from './node.js';
import type { ValueType } from './types.js';
import { Value } from './value.js';

/** Values of the graphs being copied, by original; a child scope falls back to its parent's. */
class CloneScope {
  private readonly map = new Map<Value, Value>();
  constructor(private readonly parent?: CloneScope) {}

  get(v: Value): Value | undefined {
    return this.map.get(v) ?? this.parent?.get(v);
  }

  set(original: Value, copy: Value): Value {
    this.map.set(original, copy);
    return copy;
  }

  /** The copy of `v`; a value defined nowhere in the copied tree (dangling) gets its own copy. */
  resolve(v: Value): Value {
    return this.get(v) ?? this.set(v, copyValue(v));
  }
}

const copyType = (t: ValueType | undefined): ValueType | undefined => (t ? structuredClone(t) : undefined);

function copyValue(v: Value): Value {
  const c = new Value(v.name, copyType(v.type), v.const?.share());
  c.docString = v.docString;
  for (const [k, val] of v.metadata) c.metadata.set(k, val);
  if (v.explicitDefaults) c.explicitDefaults = new Set(v.explicitDefaults);
  return c;
}

/** A copy of an attribute; graphs in it are copied in `scope`, tensors shared. */
export function copyAttribute(a: Attribute, scope?: CloneScope): Attribute {
  const c = { ...a };
  if (a.explicitDefaults) c.explicitDefaults = new Set(a.explicitDefaults);
  switch (c.kind) {
    case 'graph':
      if (c.value) c.value = cloneGraph(c.value, scope);
      break;
    case 'graphs':
      if (c.value) c.value = c.value.map((g) => cloneGraph(g, scope));
      break;
    case 'tensor':
      if (c.value) c.value = c.value.share();
      break;
    case 'tensors':
      if (c.value) c.value = c.value.map((t) => t.share());
      break;
    case 'sparse_tensor':
      if (c.value)
        c.value = { values: c.value.values.share(), indices: c.value.indices.share(), dims: [...c.value.dims] };
      break;
    case 'sparse_tensors':
      if (c.value)
        c.value = c.value.map((s) => ({ values: s.values.share(), indices: s.indices.share(), dims: [...s.dims] }));
      break;
    case 'type_proto':
      if (c.value) c.value = structuredClone(c.value);
      break;
    case 'type_protos':
      if (c.value) c.value = structuredClone(c.value);
      break;
    case 'ints':
    case 'floats':
    case 'strings':
      if (c.value) c.value = [...c.value] as never;
      break;
    default:
      break;
  }
  return c;
}

function copyNode(n: Node, scope: CloneScope): Node {
  const c = new Node({
    opType: n.opType,
    domain: n.domain,
    name: n.name,
    overload: n.overload,
    docString: n.docString,
    inputs: n.inputs.map((v) => (v ? scope.resolve(v) : undefined)),
    outputs: n.outputs.map((o) => scope.get(o) ?? scope.set(o, copyValue(o))),
  });
  for (const [k, v] of n.metadata) c.metadata.set(k, v);
  for (const [k, a] of n.attributes) c.attributes.set(k, copyAttribute(a, scope));
  if (n.unknownFields) c.unknownFields = [...n.unknownFields];
  if (n.explicitDefaults) c.explicitDefaults = new Set(n.explicitDefaults);
  return c;
}

/**
 * A structural copy of `graph` (subgraphs included). Values the graph reads from enclosing
 * scopes resolve through `outer`: the copies of those scopes when a whole tree is copied.
 */
export function cloneGraph(graph: Graph, outer?: CloneScope): Graph {
  const scope = new CloneScope(outer);
  const g = new Graph(graph.name);
  g.docString = graph.docString;
  for (const [k, v] of graph.metadata) g.metadata.set(k, v);
  if (graph.explicitDefaults) g.explicitDefaults = new Set(graph.explicitDefaults);
  if (graph.unknownFields) g.unknownFields = [...graph.unknownFields];
  for (const [name, v] of graph.initializers) {
    const c = scope.set(v, copyValue(v));
    c.graph = g;
    g.initializers.set(name, c);
  }
  for (const v of graph.inputs) {
    const c = scope.get(v) ?? scope.set(v, copyValue(v));
    c.graph = g;
    g.inputs.push(c);
  }
  // Outputs first, so a node may read a value produced by a later one (graphs mid-edit).
  for (const n of graph) for (const o of n.outputs) scope.set(o, copyValue(o));
  for (const n of graph) g.append(copyNode(n, scope));
  for (const v of graph.outputs) g.outputs.push(scope.resolve(v));
  for (const s of graph.sparseInitializers)
    g.sparseInitializers.push({
      name: s.name,
      tensor: { values: s.tensor.values.share(), indices: s.tensor.indices.share(), dims: [...s.tensor.dims] },
    });
  for (const a of graph.quantizationAnnotations)
    g.quantizationAnnotations.push({ tensorName: a.tensorName, parameters: new Map(a.parameters) });
  for (const v of graph.extraValueInfo) g.extraValueInfo.push(copyValue(v));
  return g;
}

export type { CloneScope };
