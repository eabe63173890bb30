/**
 * ModelProto → IR. Names are resolved through nested scopes so subgraph nodes that read
 * outer values point at the outer Value objects; every structural problem is reported as
 * a ModelFormatError naming the graph, node or tensor.
 */
import { emitCodecEvent } from './codec-events.js';
import { ModelFormatError, EdgeMLError } from '../errors.js';
import { dtypeFromOnnx, type DType } from '../tensor/dtype.js';
import type { ExternalDataResolver } from './tensor-proto.js';
import { Graph } from '../ir/graph.js';
import { Model, type ModelFunction } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { Value } from '../ir/value.js';
import type { Attribute, SparseTensor } from '../ir/attribute.js';
import type { Dim, ValueType } from '../ir/types.js';
import { decodeMessage } from './proto-codec.js';
import { tensorFromProto } from './tensor-proto.js';
import { presentDefaults } from './presence.js';
import { AttributeTypeCode, ModelProtoDesc, type ProtoMessage } from './schema.js';

export interface DecodeOptions {
  /** How to read external data (loadModel from '@edgeml/core/node' supplies a safe file reader). */
  externalData?: ExternalDataResolver;
  /** The file the bytes came from, for error messages. */
  file?: string;
}

type M = ProtoMessage;
const arr = <T = M>(v: unknown): T[] => (v as T[] | undefined) ?? [];
const str = (v: unknown): string => (v as string | undefined) ?? '';
const entries = (v: unknown): Map<string, string> => new Map(arr(v).map((e) => [str(e.key), str(e.value)]));

/**
 * Decode ONNX model bytes into the IR. Tensor data stays a zero-copy view of `bytes`
 * (keep `bytes` unmodified while the model is alive); external data is read on demand.
 *
 * @example
 * ```ts
 * const model = decodeModel(new Uint8Array(await (await fetch(url)).arrayBuffer()));
 * ```
 */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): Model {
  if (!(bytes instanceof Uint8Array))
    throw new ModelFormatError('decodeModel expects a Uint8Array of ONNX model bytes', { file: options.file });
  const where = options.file ? `'${options.file}'` : 'model bytes';
  if (bytes.byteLength === 0)
    throw new ModelFormatError(`${where}: the file is empty; expected an ONNX model (protobuf ModelProto)`, {
      file: options.file,
      byteOffset: 0,
    });
  let proto: M;
  emitCodecEvent('decode', bytes.byteLength);
  try {
    proto = decodeMessage(bytes, ModelProtoDesc);
  } catch (e) {
    if (e instanceof ModelFormatError)
      throw new ModelFormatError(`${where}: not a valid ONNX model: ${e.message}`, {
        byteOffset: e.byteOffset,
        fieldPath: e.fieldPath,
        file: options.file,
        cause: e,
      });
    throw e;
  }
  try {
    return modelFromProto(proto, options);
  } catch (e) {
    if (e instanceof EdgeMLError && !(e instanceof ModelFormatError && e.file)) {
      throw new ModelFormatError(`${where}: ${e.message}`, {
        file: options.file,
        fieldPath: (e as ModelFormatError).fieldPath,
        cause: e,
      });
    }
    throw e;
  }
}

export function modelFromProto(p: M, options: DecodeOptions = {}): Model {
  if (p.irVersion === undefined)
    throw new ModelFormatError('ModelProto.ir_version is missing; this does not look like an ONNX model', {
      fieldPath: 'ModelProto.ir_version',
    });
  if (!p.graph) throw new ModelFormatError('ModelProto.graph is missing', { fieldPath: 'ModelProto.graph' });
  const ctx: Ctx = { options };
  const model = new Model(graphFromProto(p.graph as M, undefined, ctx, 'graph'), {
    irVersion: p.irVersion as number,
    opsetImports: new Map(
      arr(p.opsetImport).map((o) => [str(o.domain) === 'ai.onnx' ? '' : str(o.domain), (o.version as number) ?? 0]),
    ),
    producerName: str(p.producerName),
    producerVersion: str(p.producerVersion),
    domain: str(p.domain),
    modelVersion: (p.modelVersion as number) ?? 0,
    docString: str(p.docString),
    metadata: entries(p.metadataProps),
    trainingInfo: arr(p.trainingInfo),
    unknownFields: p.$unknown,
  });
  model.functions = arr(p.functions).map((f) => functionFromProto(f, ctx));
  model.explicitDefaults = presentDefaults(p, [
    'producerName',
    'producerVersion',
    'domain',
    'modelVersion',
    'docString',
  ]);
  if (arr(p.opsetImport).some((o) => o.domain === '')) (model.explicitDefaults ??= new Set()).add('opsetImport.domain');
  return model;
}

interface Ctx {
  options: DecodeOptions;
}

class Scope {
  readonly values = new Map<string, Value>();
  /** Names read before any node produced them (file order is not always topological). */
  readonly pending = new Map<string, Value>();
  constructor(
    readonly parent: Scope | undefined,
    readonly graph: Graph,
  ) {}

  lookup(name: string): Value | undefined {
    return this.values.get(name) ?? this.parent?.lookup(name);
  }

  define(value: Value, where: string): void {
    const prior = this.values.get(value.name);
    if (prior)
      throw new ModelFormatError(`${where}: value '${value.name}' is defined twice in graph '${this.graph.name}'`);
    this.values.set(value.name, value);
  }

  /** Resolve a read; unknown names become pending forward references. */
  read(name: string): Value {
    const v = this.lookup(name) ?? this.pending.get(name);
    if (v) return v;
    for (let s = this.parent; s; s = s.parent) {
      const p = s.pending.get(name);
      if (p) return p;
    }
    const fwd = new Value(name);
    this.pending.set(name, fwd);
    return fwd;
  }
}

function graphFromProto(gp: M, parent: Scope | undefined, ctx: Ctx, path: string): Graph {
  const graph = new Graph(str(gp.name));
  const scope = new Scope(parent, graph);
  const where = `graph '${graph.name}'`;
  graph.docString = str(gp.docString);
  graph.metadata = entries(gp.metadataProps);
  graph.unknownFields = gp.$unknown;
  graph.explicitDefaults = presentDefaults(gp, ['name', 'docString']);
  for (const tp of arr(gp.initializer)) {
    const tensor = tensorFromProto(tp, ctx, `${path}.initializer`);
    const v = graph.addInitializer(tensor.name, tensor);
    scope.define(v, where);
  }
  for (const sp of arr(gp.sparseInitializer)) {
    const sparse = sparseFromProto(sp, ctx, `${path}.sparse_initializer`);
    graph.sparseInitializers.push({ name: sparse.values.name, tensor: sparse });
    const v = new Value(sparse.values.name, { kind: 'tensor', dtype: sparse.values.dtype, shape: [...sparse.dims] });
    v.graph = graph;
    scope.define(v, where);
  }
  for (const vi of arr(gp.input)) {
    const name = str(vi.name);
    let v = graph.initializers.get(name);
    if (!v) {
      v = new Value(name);
      v.graph = graph;
      scope.define(v, where);
    }
    applyValueInfo(v, vi);
    graph.inputs.push(v);
  }
  for (const np of arr(gp.node)) {
    const node = nodeFromProto(np, scope, ctx, path);
    graph.append(node);
    for (const out of node.outputs) if (out.name) scope.define(out, `${where}, node '${node.name || node.opType}'`);
  }
  for (const vi of arr(gp.output)) {
    const name = str(vi.name);
    const v = scope.lookup(name);
    if (!v)
      throw new ModelFormatError(`${where}: output '${name}' is not an input, initializer or node output`, {
        fieldPath: `${path}.output`,
      });
    applyValueInfo(v, vi, true);
    graph.outputs.push(v);
  }
  for (const vi of arr(gp.valueInfo)) {
    const v = scope.values.get(str(vi.name));
    if (v && !v.type) applyValueInfo(v, vi);
    else {
      const extra = new Value(str(vi.name));
      applyValueInfo(extra, vi);
      graph.extraValueInfo.push(extra);
    }
  }
  for (const qa of arr(gp.quantizationAnnotation)) {
    graph.quantizationAnnotations.push({
      tensorName: str(qa.tensorName),
      parameters: entries(qa.quantParameterTensorNames),
    });
  }
  resolvePending(scope, where);
  return graph;
}

/** Forward references produced later in this graph are already bound; the rest belong to an outer scope or dangle. */
function resolvePending(scope: Scope, where: string): void {
  for (const [name, fwd] of scope.pending) {
    if (fwd.producer()) continue;
    const outer = scope.parent?.lookup(name);
    if (outer) {
      fwd.replaceAllUsesWith(outer);
      continue;
    }
    if (scope.parent) {
      scope.parent.pending.set(name, fwd);
      continue;
    }
    const use = fwd.uses()[0];
    const by = use ? `node '${use.node.name || use.node.opType}'` : 'a node';
    throw new ModelFormatError(
      `${where}: ${by} reads '${name}', which is not a graph input, an initializer, or the output of any node`,
      { fieldPath: 'graph.node.input' },
    );
  }
}

function nodeFromProto(np: M, scope: Scope, ctx: Ctx, path: string): Node {
  const node = new Node({
    opType: str(np.opType),
    domain: str(np.domain),
    name: str(np.name),
    overload: str(np.overload),
    docString: str(np.docString),
    inputs: arr<string>(np.input).map((name) => (name === '' ? undefined : scope.read(name))),
  });
  node.metadata = entries(np.metadataProps);
  node.unknownFields = np.$unknown;
  node.explicitDefaults = presentDefaults(np, ['name', 'domain', 'docString', 'overload']);
  const where = `node '${node.name || node.opType}'`;
  for (const name of arr<string>(np.output)) {
    // Empty names mark optional outputs left out; they still hold a position.
    const fwd = name === '' ? undefined : scope.pending.get(name);
    if (fwd && !fwd.producer()) {
      scope.pending.delete(name);
      node.appendOutput(fwd);
    } else node.appendOutput(new Value(name));
  }
  for (const ap of arr(np.attribute)) {
    const a = attributeFromProto(ap, scope, ctx, `${path}.node.attribute`, where);
    node.attributes.set(a.name, a);
  }
  return node;
}

function applyValueInfo(v: Value, vi: M, isOutput = false): void {
  if (vi.type) v.type = typeFromProto(vi.type as M);
  const doc = str(vi.docString);
  if (doc || !isOutput) v.docString = doc || v.docString;
  const present = presentDefaults(vi, ['docString']);
  if (present && !isOutput) v.explicitDefaults = present;
  const meta = entries(vi.metadataProps);
  for (const [k, val] of meta) v.metadata.set(k, val);
}

function dimsFromShape(shape: M | undefined): { shape?: Dim[]; dimDenotations?: (string | undefined)[] } {
  if (!shape) return {};
  const dims = arr(shape.dim);
  const out: Dim[] = dims.map((d) =>
    d.dimValue !== undefined ? (d.dimValue as number) : d.dimParam !== undefined ? (d.dimParam as string) : null,
  );
  const den = dims.map((d) => d.denotation as string | undefined);
  return den.some((d) => d !== undefined) ? { shape: out, dimDenotations: den } : { shape: out };
}

function elemType(code: unknown): DType | undefined {
  return code === undefined || code === 0 ? undefined : dtypeFromOnnx(code as number);
}

export function typeFromProto(t: M): ValueType | undefined {
  const denotation = t.denotation as string | undefined;
  const withDen = <T extends ValueType>(v: T): T => (denotation !== undefined ? { ...v, denotation } : v);
  if (t.tensorType) {
    const tt = t.tensorType as M;
    return withDen({ kind: 'tensor', dtype: elemType(tt.elemType), ...dimsFromShape(tt.shape as M) });
  }
  if (t.sparseTensorType) {
    const tt = t.sparseTensorType as M;
    return withDen({ kind: 'sparse_tensor', dtype: elemType(tt.elemType), ...dimsFromShape(tt.shape as M) });
  }
  if (t.sequenceType) return withDen({ kind: 'sequence', elem: sub((t.sequenceType as M).elemType) });
  if (t.optionalType) return withDen({ kind: 'optional', elem: sub((t.optionalType as M).elemType) });
  if (t.mapType) {
    const mt = t.mapType as M;
    return withDen({ kind: 'map', keyType: elemType(mt.keyType), value: sub(mt.valueType) });
  }
  if (t.opaqueType) {
    const o = t.opaqueType as M;
    return withDen({ kind: 'opaque', domain: str(o.domain), name: str(o.name) });
  }
  return undefined;
}
const sub = (t: unknown) => (t ? typeFromProto(t as M) : undefined);

const ATTR_KIND_BY_CODE: Record<number, Attribute['kind']> = {
  1: 'float',
  2: 'int',
  3: 'string',
  4: 'tensor',
  5: 'graph',
  6: 'floats',
  7: 'ints',
  8: 'strings',
  9: 'tensors',
  10: 'graphs',
  11: 'sparse_tensor',
  12: 'sparse_tensors',
  13: 'type_proto',
  14: 'type_protos',
};
const utf8 = new TextDecoder();

function attributeFromProto(ap: M, scope: Scope, ctx: Ctx, path: string, where: string): Attribute {
  const name = str(ap.name);
  let code = ap.type as number | undefined;
  if (!code) code = inferAttrCode(ap);
  const kind = ATTR_KIND_BY_CODE[code];
  if (!kind)
    throw new ModelFormatError(`${where}: attribute '${name}' has unknown type ${code}`, { fieldPath: `${path}.type` });
  const base = {
    name,
    kind,
    docString: ap.docString as string | undefined,
    refAttrName: ap.refAttrName as string | undefined,
    explicitDefaults: presentDefaults(ap, ['docString', 'refAttrName']),
  };
  if (base.refAttrName) return { ...base, value: undefined } as unknown as Attribute;
  const graphOf = (g: M) => graphFromProto(g, scope, ctx, `${path}.g`);
  let value: unknown;
  switch (kind) {
    case 'float':
      value = ap.f ?? 0;
      break;
    case 'int':
      value = ap.i ?? 0;
      break;
    case 'string':
      value = ap.s ? utf8.decode(ap.s as Uint8Array) : '';
      break;
    case 'tensor':
      value = ap.t ? tensorFromProto(ap.t as M, ctx, `${path}.t`) : undefined;
      break;
    case 'graph':
      value = ap.g ? graphOf(ap.g as M) : undefined;
      break;
    case 'sparse_tensor':
      value = ap.sparseTensor ? sparseFromProto(ap.sparseTensor as M, ctx, path) : undefined;
      break;
    case 'type_proto':
      value = ap.tp ? typeFromProto(ap.tp as M) : undefined;
      break;
    case 'floats':
      value = arr<number>(ap.floats);
      break;
    case 'ints':
      value = arr<number>(ap.ints);
      break;
    case 'strings':
      value = arr<Uint8Array>(ap.strings).map((b) => utf8.decode(b));
      break;
    case 'tensors':
      value = arr(ap.tensors).map((t) => tensorFromProto(t, ctx, `${path}.tensors`));
      break;
    case 'graphs':
      value = arr(ap.graphs).map(graphOf);
      break;
    case 'sparse_tensors':
      value = arr(ap.sparseTensors).map((t) => sparseFromProto(t, ctx, path));
      break;
    case 'type_protos':
      value = arr(ap.typeProtos).map((t) => typeFromProto(t));
      break;
  }
  if (value === undefined)
    throw new ModelFormatError(`${where}: attribute '${name}' is declared ${kind} but carries no value`, {
      fieldPath: path,
    });
  return { ...base, value } as Attribute;
}

function inferAttrCode(ap: M): number {
  const c = AttributeTypeCode;
  if (ap.f !== undefined) return c.FLOAT;
  if (ap.i !== undefined) return c.INT;
  if (ap.s !== undefined) return c.STRING;
  if (ap.t) return c.TENSOR;
  if (ap.g) return c.GRAPH;
  if (ap.sparseTensor) return c.SPARSE_TENSOR;
  if (ap.tp) return c.TYPE_PROTO;
  if (ap.floats) return c.FLOATS;
  if (ap.ints) return c.INTS;
  if (ap.strings) return c.STRINGS;
  if (ap.tensors) return c.TENSORS;
  if (ap.graphs) return c.GRAPHS;
  if (ap.sparseTensors) return c.SPARSE_TENSORS;
  if (ap.typeProtos) return c.TYPE_PROTOS;
  return 0;
}

function sparseFromProto(sp: M, ctx: Ctx, path: string): SparseTensor {
  if (!sp.values || !sp.indices)
    throw new ModelFormatError(`sparse tensor at ${path} lacks values or indices`, { fieldPath: path });
  return {
    values: tensorFromProto(sp.values as M, ctx, `${path}.values`),
    indices: tensorFromProto(sp.indices as M, ctx, `${path}.indices`),
    dims: arr<number>(sp.dims),
  };
}

function functionFromProto(fp: M, ctx: Ctx): ModelFunction {
  const graph = new Graph(str(fp.name));
  const scope = new Scope(undefined, graph);
  for (const name of arr<string>(fp.input)) {
    const v = new Value(name);
    v.graph = graph;
    scope.define(v, `function '${graph.name}'`);
    graph.inputs.push(v);
  }
  for (const np of arr(fp.node)) {
    const node = nodeFromProto(np, scope, ctx, `function ${graph.name}`);
    graph.append(node);
    for (const out of node.outputs) if (out.name) scope.define(out, `function '${graph.name}'`);
  }
  for (const name of arr<string>(fp.output)) {
    const v = scope.lookup(name);
    if (!v)
      throw new ModelFormatError(`function '${graph.name}': output '${name}' is not produced by any node`, {
        fieldPath: 'FunctionProto.output',
      });
    graph.outputs.push(v);
  }
  for (const vi of arr(fp.valueInfo)) {
    const v = scope.values.get(str(vi.name));
    if (v) applyValueInfo(v, vi);
    else {
      const extra = new Value(str(vi.name));
      applyValueInfo(extra, vi);
      graph.extraValueInfo.push(extra);
    }
  }
  resolvePending(scope, `function '${graph.name}'`);
  return {
    domain: str(fp.domain),
    name: str(fp.name),
    overload: str(fp.overload),
    graph,
    attributes: arr<string>(fp.attribute),
    attributeDefaults: arr(fp.attributeProto).map((a) =>
      attributeFromProto(a, scope, ctx, 'FunctionProto.attribute_proto', `function '${graph.name}'`),
    ),
    opsetImports: new Map(arr(fp.opsetImport).map((o) => [str(o.domain), (o.version as number) ?? 0])),
    docString: str(fp.docString),
    metadata: entries(fp.metadataProps),
    unknownFields: fp.$unknown,
    explicitDefaults: presentDefaults(fp, ['domain', 'overload', 'docString']),
  };
}
