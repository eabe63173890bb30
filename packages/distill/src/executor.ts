import {
  isDefaultDomain,
  opEntry,
  InvalidArgumentError,
  Model,
  PassManager,
  Tensor,
  UnsupportedOpError,
  constantFolding,
  deadCodeElimination,
  identityElimination,
  prepare,
  type Node,
  type PreparedStep,
  type Value,
} from '@edgeml/core';
import { tf, tfReady } from './tf.js';
import type { OpContext } from './op-context.js';
import { TF_OPS } from './tf-ops.js';

/** Which weights train. */
export interface TrainableOptions {
  /** Initializers kept fixed, by exact name or pattern (e.g. `/^features\./` for a frozen backbone). */
  freeze?: (string | RegExp)[];
  /**
   * Or decide per initializer name; wins over `freeze`. A float scalar it names trains too
   * (other scalars — a Dropout ratio, Clip bounds — are settings and stay constant).
   */
  trainable?: (name: string) => boolean;
  /**
   * Fold constant subgraphs before training (default true). Quantization-aware training turns
   * it off: a QuantizeLinear of a weight is all-constant, and folding it would freeze the weight.
   */
  foldConstants?: boolean;
}

/** Ops the executor cannot run, with the nodes that use them; empty when it can run the model. */
export function unsupportedTrainingOps(model: Model): { opType: string; domain: string; nodes: string[] }[] {
  const missing = new Map<string, { opType: string; domain: string; nodes: string[] }>();
  for (const g of model.graphs()) {
    for (const n of g) {
      const known = (isDefaultDomain(n) && n.opType === 'Constant') || opEntry(TF_OPS, n);
      if (known) continue;
      const key = `${n.domain}.${n.opType}`;
      const entry = missing.get(key) ?? { opType: n.opType, domain: n.domain, nodes: [] };
      entry.nodes.push(n.name);
      missing.set(key, entry);
    }
  }
  return [...missing.values()];
}

function toTf(t: Tensor): tf.Tensor {
  const dims = [...t.dims];
  switch (t.dtype) {
    case 'float32':
      return tf.tensor(t.data as Float32Array, dims, 'float32');
    case 'float16':
    case 'float64':
    case 'bfloat16':
      return tf.tensor(Float32Array.from(t.toFloat64()), dims, 'float32');
    case 'bool':
      return tf.tensor(
        Array.from(t.toFloat64(), (v) => v !== 0),
        dims,
        'bool',
      );
    // tfjs has no 64-bit integers: shapes, indices and axes fit in int32.
    default:
      return tf.tensor(
        Int32Array.from(t.toFloat64(), (v) => Math.max(-2147483648, Math.min(2147483647, v))),
        dims,
        'int32',
      );
  }
}

function constantOf(node: Node): tf.Tensor {
  const t = node.attr('value', 'tensor');
  if (t) return toTf(t);
  const f =
    node.attributes.get('value_float') ??
    node.attributes.get('value_floats') ??
    node.attributes.get('value_int') ??
    node.attributes.get('value_ints');
  if (!f)
    throw new UnsupportedOpError(
      'Constant',
      '',
      undefined,
      `Constant node '${node.name}' holds a kind of value the executor does not take (sparse or string)`,
      node.name,
    );
  const isInt = f.name.startsWith('value_int');
  return Array.isArray(f.value)
    ? tf.tensor1d(f.value as number[], isInt ? 'int32' : 'float32')
    : tf.scalar(f.value as number, isInt ? 'int32' : 'float32');
}

/**
 * An ONNX model as a trainable tfjs function: float weights become tfjs variables, the graph
 * runs op by op on tfjs-core (convolutions and pools on this package's NCHW kernels), and the
 * trained weights and BatchNorm running statistics go back into an ONNX Model.
 *
 * @example
 * ```ts
 * const student = await TrainableModel.fromModel(model, { freeze: [/^backbone\./] });
 * const logits = tf.tidy(() => student.forward({ image: batch }, { training: true }).logits);
 * const trained = student.toModel();   // runs on onnxruntime with the same outputs
 * ```
 */
export class TrainableModel {
  /** Model inputs the forward pass takes (initializer-backed inputs excluded). */
  readonly inputNames: string[];
  readonly outputNames: string[];
  private readonly variables = new Map<string, tf.Variable>();
  private readonly constants = new Map<string, tf.Tensor>();
  private readonly bnStats = new Map<Node, { mean: tf.Variable; variance: tf.Variable }>();
  private statisticsFrozen = false;
  private readonly opset: number;
  /** What was done to the model before training it (Constant-node weights lifted, ...). */
  prepared: readonly PreparedStep[] = [];

  private constructor(
    private readonly model: Model,
    options: TrainableOptions,
  ) {
    const g = model.graph;
    this.opset = model.opset() ?? 0;
    this.inputNames = g.inputs.filter((v) => !g.initializers.has(v.name)).map((v) => v.name);
    this.outputNames = g.outputs.map((v) => v.name);
    const statistics = new Set<string>();
    for (const n of g)
      if (n.opType === 'BatchNormalization')
        for (const i of [3, 4]) if (n.inputs[i]?.const) statistics.add(n.inputs[i].name);
    const trains = (name: string) =>
      options.trainable?.(name) ??
      !(options.freeze ?? []).some((p) => (typeof p === 'string' ? p === name : p.test(name)));
    for (const [name, v] of g.initializers) {
      const t = v.const!;
      // Scalars (a Dropout ratio, Clip bounds) are settings, not weights, unless asked for by name.
      if (t.dtype === 'float32' && (t.dims.length > 0 || options.trainable?.(name) === true))
        this.variables.set(
          name,
          tf.variable(
            toTf(t),
            !statistics.has(name) && trains(name),
            `${name}__${Math.random().toString(36).slice(2)}`,
          ),
        );
      else this.constants.set(name, toTf(t));
    }
    for (const n of g) {
      if (n.opType !== 'BatchNormalization') continue;
      const [mean, variance] = [
        this.variables.get(n.inputs[3]?.name ?? ''),
        this.variables.get(n.inputs[4]?.name ?? ''),
      ];
      if (mean && variance) this.bnStats.set(n, { mean, variance });
    }
  }

  /**
   * Prepare `model` for training: a copy is made (the input is never modified), shape
   * subgraphs are folded, and every op is checked up front — ops the executor cannot run are
   * named in one UnsupportedOpError before anything trains.
   */
  static async fromModel(model: Model, options: TrainableOptions = {}): Promise<TrainableModel> {
    await tfReady();
    // Weights exporters keep in Constant nodes (or as float16 behind a Cast) are trained like initializers.
    const { model: ready, prepared } = prepare(model, { foldWeightCasts: true });
    const copy = ready === model ? model.clone() : ready;
    const folding = options.foldConstants === false ? [] : [constantFolding()];
    await new PassManager([...folding, identityElimination(), deadCodeElimination()], { fixedPoint: true }).run(copy);
    const missing = unsupportedTrainingOps(copy);
    if (missing.length) {
      const list = missing
        .map(
          (m) =>
            `${m.domain ? `${m.domain}.` : ''}${m.opType} (${m.nodes
              .slice(0, 3)
              .map((n) => `'${n}'`)
              .join(', ')}${m.nodes.length > 3 ? ', …' : ''})`,
        )
        .join(', ');
      throw new UnsupportedOpError(
        missing[0].opType,
        missing[0].domain,
        copy.opset(missing[0].domain),
        `the trainable executor cannot run ${list}; supported: ${Object.keys(TF_OPS).join(', ')}, Constant`,
        missing[0].nodes[0],
      );
    }
    const trainable = new TrainableModel(copy, options);
    trainable.prepared = prepared;
    return trainable;
  }

  /**
   * Freeze every BatchNormalization's statistics (or thaw them): training then normalises with
   * the running mean and variance and no longer updates them, as torch.ao's `freeze_bn_stats`
   * does after the first part of quantization-aware training. γ and β still train.
   */
  freezeBatchNormStatistics(frozen = true): void {
    this.statisticsFrozen = frozen;
  }

  /** Whether {@link freezeBatchNormStatistics} froze the statistics. */
  get batchNormStatisticsFrozen(): boolean {
    return this.statisticsFrozen;
  }

  /** The variables an optimizer updates. */
  get trainableVariables(): tf.Variable[] {
    return [...this.variables.values()].filter((v) => v.trainable);
  }

  /** Initializer names of {@link trainableVariables}, in the same order. */
  get trainableWeightNames(): string[] {
    return [...this.variables].filter(([, v]) => v.trainable).map(([name]) => name);
  }

  /**
   * Run the model. In training mode Dropout drops and BatchNorm normalises with batch
   * statistics (updating its running statistics). Call inside `tf.tidy` or an optimizer's
   * `minimize` so intermediate tensors are freed.
   */
  forward(
    feeds: Record<string, tf.Tensor>,
    options: { training?: boolean; outputs?: string[] } = {},
  ): Record<string, tf.Tensor> {
    const env = new Map<string, tf.Tensor>();
    for (const name of this.inputNames) {
      const t = feeds[name];
      if (!t)
        throw new InvalidArgumentError(`missing input '${name}'; the model takes ${this.inputNames.join(', ')}`, name);
      env.set(name, t);
    }
    const value = (v: Value | undefined): tf.Tensor | undefined =>
      v && v.name ? (env.get(v.name) ?? this.variables.get(v.name) ?? this.constants.get(v.name)) : undefined;
    const data = new Set(this.inputNames);
    for (const node of this.model.graph) {
      let outs: (tf.Tensor | undefined)[];
      if (node.opType === 'Constant') outs = [constantOf(node)];
      else {
        const inputs = node.inputs.map(value);
        // Static values (shapes, axes, bounds): from the initializer, or read off the computed tensor.
        const numbers = (i: number) =>
          node.inputs[i]?.const
            ? node.inputs[i].const.toNumbers()
            : inputs[i]
              ? Array.from(inputs[i].dataSync() as ArrayLike<number>)
              : undefined;
        const ctx: OpContext = {
          node,
          inputs,
          training: !!options.training,
          opset: this.opset,
          ints: numbers,
          floats: numbers,
          input: (i) => {
            const t = inputs[i];
            if (!t)
              throw new InvalidArgumentError(
                `node '${node.name || node.opType}' needs input ${i} ('${node.inputs[i]?.name ?? ''}'), which is not there`,
                node.name,
              );
            return t;
          },
          isData: (i) => data.has(node.inputs[i]?.name ?? ''),
          runningStats: (n) => (this.statisticsFrozen ? undefined : this.bnStats.get(n)),
        };
        outs = opEntry(TF_OPS, node)!(ctx);
      }
      node.outputs.forEach((o, i) => {
        if (o.name && outs[i]) env.set(o.name, outs[i]);
      });
    }
    const wanted = options.outputs ?? this.outputNames;
    return Object.fromEntries(
      wanted.map((name) => {
        const t = env.get(name) ?? this.variables.get(name) ?? this.constants.get(name);
        if (!t) throw new InvalidArgumentError(`the model has no output '${name}'`, name);
        return [name, t];
      }),
    );
  }

  /** Every float weight (BatchNorm statistics included) as core Tensors, by initializer name: for checkpoints and federated averaging. */
  getWeights(): Record<string, Tensor> {
    return Object.fromEntries(
      [...this.variables].map(([name, v]) => [
        name,
        Tensor.from('float32', v.shape, (v.dataSync() as Float32Array).slice()),
      ]),
    );
  }

  /** Load weights by initializer name; shapes must match. Names not given keep their values. */
  setWeights(weights: Record<string, Tensor>): void {
    for (const [name, t] of Object.entries(weights)) {
      const v = this.variables.get(name);
      if (!v) throw new InvalidArgumentError(`the model has no float weight '${name}'`, name);
      if (v.shape.join() !== t.dims.join())
        throw new InvalidArgumentError(`weight '${name}' is [${v.shape}] in the model, got [${t.dims}]`, name);
      v.assign(tf.tensor(Float32Array.from(t.toFloat64()), v.shape));
    }
  }

  /** A copy of the prepared model with the current weights and BatchNorm statistics written in. */
  toModel(): Model {
    const out = this.model.clone();
    for (const [name, t] of Object.entries(this.getWeights())) out.graph.initializers.get(name)!.const = t;
    return out;
  }

  /** Free every tfjs tensor this model holds. */
  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    for (const t of this.constants.values()) t.dispose();
  }
}
