import { Graph, Model, UnsupportedOpError, encodeModel, type Backend, type Node, type Value } from '@edgeml/core';

/** An op the target runtime has no kernel for, and the nodes that use it. */
export interface UnsupportedOp {
  opType: string;
  domain: string;
  nodes: string[];
}

/** Whether a model loads in the runtime that will serve it, and if not, every op in the way. */
export interface TargetCheckResult {
  /** The backend's name, e.g. `onnxruntime-web`. */
  runtime: string;
  loads: boolean;
  /** The runtime's reason, when it does not load. */
  error?: string;
  /** Every op type the runtime cannot run (not just the first one it stopped at). */
  unsupportedOps: UnsupportedOp[];
}

/** A one-node model with the node's inputs as graph inputs (or its constant inputs), for probing one kernel. */
function singleNodeModel(model: Model, node: Node): Uint8Array | undefined {
  const g = new Graph('probe');
  const made = new Map<Value, Value>();
  const inputs = node.inputs.map((v) => {
    if (!v) return undefined;
    let copy = made.get(v);
    if (!copy) {
      if (v.const) copy = g.addInitializer(v.name, v.const);
      else if (v.type?.kind === 'tensor' && v.type.dtype) copy = g.addInput(v.name, v.type);
      else throw new Error(`input '${v.name}' has no known type`);
      made.set(v, copy);
    }
    return copy;
  });
  const copy = g.op(node.opType, inputs, [...node.attributes.values()], {
    domain: node.domain,
    name: node.name,
    outputs: node.outputs.map((o) => o.name),
  });
  copy.outputs.forEach((o, i) => {
    o.type = node.outputs[i].type;
    if (o.name) g.outputs.push(o);
  });
  try {
    return encodeModel(new Model(g, { opsetImports: model.opsetImports, irVersion: model.irVersion }));
  } catch {
    return undefined;
  }
}

/**
 * Load `model` in `backend`. When it fails for want of kernels, probe each distinct op on its
 * own so the report names every op the runtime lacks, with the nodes that use it, rather than
 * only the first the runtime stopped at.
 *
 * @example
 * ```ts
 * const check = await checkTarget(result.model, new WebBackend());
 * if (!check.loads) console.error(check.unsupportedOps.map((o) => `${o.domain || 'ai.onnx'}.${o.opType}`));
 * ```
 */
export async function checkTarget(model: Model, backend: Backend): Promise<TargetCheckResult> {
  const result: TargetCheckResult = { runtime: backend.name, loads: true, unsupportedOps: [] };
  try {
    const session = await backend.createSession(model);
    await session.dispose();
    return result;
  } catch (e) {
    result.loads = false;
    result.error = (e as Error).message.split('\n').join(' ');
    if (!(e instanceof UnsupportedOpError)) return result;
  }
  const probed = new Map<string, UnsupportedOp | null>();
  for (const g of model.graphs()) {
    for (const node of g) {
      const key = `${node.domain}/${node.opType}/${node.inputs.map((v) => (v?.type?.kind === 'tensor' ? v.type.dtype : '')).join(',')}`;
      if (!probed.has(key)) {
        let probe: Uint8Array | undefined;
        try {
          probe = singleNodeModel(model, node);
        } catch {
          probe = undefined;
        }
        let missing: UnsupportedOp | null = null;
        if (probe) {
          try {
            await (await backend.createSession(probe)).dispose();
          } catch (e) {
            if (e instanceof UnsupportedOpError) missing = { opType: node.opType, domain: node.domain, nodes: [] };
          }
        }
        probed.set(key, missing);
      }
      probed.get(key)?.nodes.push(node.name);
    }
  }
  const byOp = new Map<string, UnsupportedOp>();
  for (const m of probed.values()) {
    if (!m) continue;
    const k = `${m.domain}.${m.opType}`;
    const seen = byOp.get(k);
    if (seen) seen.nodes.push(...m.nodes);
    else byOp.set(k, m);
  }
  result.unsupportedOps = [...byOp.values()];
  return result;
}
