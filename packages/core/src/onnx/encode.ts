/** IR → ModelProto → bytes. */
import { dtypeToOnnx, type DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Attribute, SparseTensor } from '../ir/attribute.js';
import type { Graph } from '../ir/graph.js';
import type { Model, ModelFunction } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import type { Dim, ValueType } from '../ir/types.js';
import { emitCodecEvent } from './codec-events.js';
import { encodeMessage, encodeMessageChunks, sizeOf } from './proto-codec.js';
import { AttributeTypeCode, ModelProtoDesc, type ProtoMessage } from './schema.js';
import { tensorToProto } from './tensor-proto.js';
import { restoreDefaults } from './presence.js';

type M = ProtoMessage;

export interface EncodeOptions {
  /**
   * Decide, per tensor, how it is written. Return 'inline' to embed the bytes, or an
   * external location record to reference them. Default: keep each tensor as it was
   * (external tensors stay external, others inline).
   */
  placeTensor?: (
    tensor: Tensor,
    valueName: string,
  ) => 'inline' | { location: string; offset: number; length: number } | undefined;
}

/**
 * Encode a Model to ONNX bytes. The output is sized first and allocated once; tensor
 * bytes are copied once. Protobuf cannot hold messages over 2 GiB: save large models with
 * external data (`saveModel(path, model, { externalData: ... })` in '@edgeml/core/node').
 *
 * @example
 * ```ts
 * const bytes = encodeModel(model);
 * ```
 */
export function encodeModel(model: Model, options: EncodeOptions = {}): Uint8Array {
  const bytes = encodeMessage(modelToProto(model, options), ModelProtoDesc);
  emitCodecEvent('encode', bytes.byteLength);
  return bytes;
}

/**
 * The exact byte length `encodeModel(model, options)` would return, computed without writing
 * the bytes (no tensor data is copied): the way to report a model's size.
 *
 * @example
 * ```ts
 * const before = encodedSize(model);
 * ```
 */
export function encodedSize(model: Model, options: EncodeOptions = {}): number {
  return sizeOf(modelToProto(model, { ...options, sizeOnly: true }), ModelProtoDesc, new WeakMap());
}

/** How modelToProto fills tensor data: `sizeOnly` gives stand-ins of the right length, for sizing without reading. */
interface ProtoOptions extends EncodeOptions {
  sizeOnly?: boolean;
}

/**
 * Encode a Model as chunks whose concatenation equals `encodeModel(model)`: tensor bytes of
 * at least `spliceThreshold` bytes (default 64 KiB) are referenced, not copied. This is the
 * fast path to a file (`saveModel` writes the chunks with one gathered write).
 */
export function encodeModelChunks(
  model: Model,
  options: EncodeOptions & { spliceThreshold?: number } = {},
): Uint8Array[] {
  const chunks = encodeMessageChunks(modelToProto(model, options), ModelProtoDesc, options.spliceThreshold);
  emitCodecEvent(
    'encode',
    chunks.reduce((n, c) => n + c.byteLength, 0),
  );
  return chunks;
}

export function modelToProto(model: Model, options: ProtoOptions = {}): M {
  const explicitDomain = model.explicitDefaults?.has('opsetImport.domain');
  const p: M = {
    irVersion: model.irVersion,
    opsetImport: [...model.opsetImports].map(([domain, version]) =>
      domain || explicitDomain ? { domain, version } : { version },
    ),
    graph: graphToProto(model.graph, options),
  };
  if (model.producerName) p.producerName = model.producerName;
  if (model.producerVersion) p.producerVersion = model.producerVersion;
  if (model.domain) p.domain = model.domain;
  if (model.modelVersion) p.modelVersion = model.modelVersion;
  if (model.docString) p.docString = model.docString;
  if (model.metadata.size) p.metadataProps = kv(model.metadata);
  if (model.trainingInfo.length) p.trainingInfo = model.trainingInfo;
  if (model.functions.length) p.functions = model.functions.map((f) => functionToProto(f, options));
  if (model.unknownFields) p.$unknown = model.unknownFields;
  return restoreDefaults(p, model, {
    producerName: '',
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    docString: '',
  });
}

const kv = (m: Map<string, string>): M[] => [...m].map(([key, value]) => ({ key, value }));

function placed(t: Tensor, name: string, options: ProtoOptions): M {
  const where = options.placeTensor?.(t, name);
  if (where && where !== 'inline') {
    const p = tensorToProto(t, { header: true });
    p.dataLocation = 1;
    p.externalData = [
      { key: 'location', value: where.location },
      { key: 'offset', value: String(where.offset) },
      { key: 'length', value: String(where.length) },
    ];
    return p;
  }
  return tensorToProto(t, { inline: where === 'inline', sizeOnly: options.sizeOnly });
}

function graphToProto(g: Graph, options: ProtoOptions): M {
  const p: M = { node: [], input: g.inputs.map((v) => valueInfo(v)), output: g.outputs.map((v) => valueInfo(v)) };
  if (g.name) p.name = g.name;
  if (g.docString) p.docString = g.docString;
  const inits: M[] = [];
  for (const [name, v] of g.initializers) {
    const t = v.const!;
    const tp = placed(t, name, options);
    tp.name = name;
    inits.push(tp);
  }
  if (inits.length) p.initializer = inits;
  if (g.sparseInitializers.length)
    p.sparseInitializer = g.sparseInitializers.map((s) => sparseToProto(s.tensor, options));
  const valueInfos: M[] = [];
  const outputs = new Set(g.outputs);
  for (const n of g) {
    (p.node as M[]).push(nodeToProto(n, options));
    for (const o of n.outputs)
      if (o.name && o.type && !outputs.has(o) && !untypedTensor(o)) valueInfos.push(valueInfo(o));
  }
  for (const v of g.extraValueInfo) valueInfos.push(valueInfo(v));
  if (valueInfos.length) p.valueInfo = valueInfos;
  if (g.quantizationAnnotations.length)
    p.quantizationAnnotation = g.quantizationAnnotations.map((q) => ({
      tensorName: q.tensorName,
      quantParameterTensorNames: kv(q.parameters),
    }));
  if (g.metadata.size) p.metadataProps = kv(g.metadata);
  if (g.unknownFields) p.$unknown = g.unknownFields;
  return restoreDefaults(p, g, { name: '', docString: '' });
}

/**
 * A tensor value_info with element type 0 (UNDEFINED) makes onnxruntime refuse the whole model
 * ("Invalid tensor data type 0"); for an intermediate value it says nothing, so it is not written.
 */
function untypedTensor(v: Value): boolean {
  return v.type?.kind === 'tensor' && !v.type.dtype;
}

function valueInfo(v: Value): M {
  const p: M = { name: v.name };
  if (v.type) p.type = typeToProto(v.type);
  if (v.docString) p.docString = v.docString;
  if (v.metadata.size) p.metadataProps = kv(v.metadata);
  return restoreDefaults(p, v, { docString: '' });
}

function shapeToProto(shape: Dim[], den?: (string | undefined)[]): M {
  return {
    dim: shape.map((d, i) => {
      const dim: M = d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d };
      if (den?.[i] !== undefined) dim.denotation = den[i];
      return dim;
    }),
  };
}

export function typeToProto(t: ValueType): M {
  const p: M = {};
  const code = (d: DType | undefined) => (d ? dtypeToOnnx(d) : 0);
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor': {
      const inner: M = { elemType: code(t.dtype) };
      if (t.shape) inner.shape = shapeToProto(t.shape, t.dimDenotations);
      p[t.kind === 'tensor' ? 'tensorType' : 'sparseTensorType'] = inner;
      break;
    }
    case 'sequence':
      p.sequenceType = t.elem ? { elemType: typeToProto(t.elem) } : {};
      break;
    case 'optional':
      p.optionalType = t.elem ? { elemType: typeToProto(t.elem) } : {};
      break;
    case 'map':
      p.mapType = { keyType: code(t.keyType), ...(t.value ? { valueType: typeToProto(t.value) } : {}) };
      break;
    case 'opaque':
      p.opaqueType = { domain: t.domain, name: t.name };
      break;
  }
  if (t.denotation !== undefined) p.denotation = t.denotation;
  return p;
}

function nodeToProto(n: Node, options: ProtoOptions): M {
  const p: M = {
    input: n.inputs.map((v) => v?.name ?? ''),
    output: n.outputs.map((v) => v.name),
    opType: n.opType,
  };
  if (n.name) p.name = n.name;
  if (n.domain) p.domain = n.domain;
  if (n.overload) p.overload = n.overload;
  if (n.docString) p.docString = n.docString;
  if (n.attributes.size) p.attribute = [...n.attributes.values()].map((a) => attributeToProto(a, options));
  if (n.metadata.size) p.metadataProps = kv(n.metadata);
  if (n.unknownFields) p.$unknown = n.unknownFields;
  return restoreDefaults(p, n, { name: '', domain: '', docString: '', overload: '' });
}

const utf8 = new TextEncoder();
const ATTR_CODE: Record<Attribute['kind'], number> = {
  float: AttributeTypeCode.FLOAT,
  int: AttributeTypeCode.INT,
  string: AttributeTypeCode.STRING,
  tensor: AttributeTypeCode.TENSOR,
  graph: AttributeTypeCode.GRAPH,
  sparse_tensor: AttributeTypeCode.SPARSE_TENSOR,
  type_proto: AttributeTypeCode.TYPE_PROTO,
  floats: AttributeTypeCode.FLOATS,
  ints: AttributeTypeCode.INTS,
  strings: AttributeTypeCode.STRINGS,
  tensors: AttributeTypeCode.TENSORS,
  graphs: AttributeTypeCode.GRAPHS,
  sparse_tensors: AttributeTypeCode.SPARSE_TENSORS,
  type_protos: AttributeTypeCode.TYPE_PROTOS,
};

function attributeToProto(a: Attribute, options: ProtoOptions): M {
  const p: M = { name: a.name, type: ATTR_CODE[a.kind] };
  if (a.docString) p.docString = a.docString;
  restoreDefaults(p, a, { docString: '', refAttrName: '' });
  if (a.refAttrName) {
    p.refAttrName = a.refAttrName;
    return p;
  }
  switch (a.kind) {
    case 'float':
      p.f = a.value;
      break;
    case 'int':
      p.i = a.value;
      break;
    case 'string':
      p.s = utf8.encode(a.value);
      break;
    case 'tensor':
      p.t = tensorToProto(a.value, { inline: false, sizeOnly: options.sizeOnly });
      break;
    case 'graph':
      p.g = graphToProto(a.value, options);
      break;
    case 'sparse_tensor':
      p.sparseTensor = sparseToProto(a.value, options);
      break;
    case 'type_proto':
      p.tp = typeToProto(a.value);
      break;
    case 'floats':
      p.floats = a.value;
      break;
    case 'ints':
      p.ints = a.value;
      break;
    case 'strings':
      p.strings = a.value.map((s) => utf8.encode(s));
      break;
    case 'tensors':
      p.tensors = a.value.map((t) => tensorToProto(t, { sizeOnly: options.sizeOnly }));
      break;
    case 'graphs':
      p.graphs = a.value.map((g) => graphToProto(g, options));
      break;
    case 'sparse_tensors':
      p.sparseTensors = a.value.map((s) => sparseToProto(s, options));
      break;
    case 'type_protos':
      p.typeProtos = a.value.map((t) => typeToProto(t));
      break;
  }
  return p;
}

function sparseToProto(s: SparseTensor, options: ProtoOptions): M {
  return { values: placed(s.values, s.values.name, options), indices: tensorToProto(s.indices), dims: s.dims };
}

function functionToProto(f: ModelFunction, options: ProtoOptions): M {
  const p: M = {
    name: f.name,
    input: f.graph.inputs.map((v) => v.name),
    output: f.graph.outputs.map((v) => v.name),
    node: f.graph.nodes.map((n) => nodeToProto(n, options)),
    opsetImport: [...f.opsetImports].map(([domain, version]) => ({ domain, version })),
  };
  if (f.domain) p.domain = f.domain;
  if (f.overload) p.overload = f.overload;
  if (f.attributes.length) p.attribute = f.attributes;
  if (f.attributeDefaults.length) p.attributeProto = f.attributeDefaults.map((a) => attributeToProto(a, options));
  if (f.docString) p.docString = f.docString;
  const vis: M[] = [];
  for (const n of f.graph) for (const o of n.outputs) if (o.type) vis.push(valueInfo(o));
  for (const v of f.graph.extraValueInfo) vis.push(valueInfo(v));
  if (vis.length) p.valueInfo = vis;
  if (f.metadata.size) p.metadataProps = kv(f.metadata);
  if (f.unknownFields) p.$unknown = f.unknownFields;
  return restoreDefaults(p, f, { domain: '', overload: '', docString: '' });
}
