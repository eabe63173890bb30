import { InvalidArgumentError } from '@edgeml/core';
import {
  evaluate,
  fineTune,
  tf,
  type Dataset,
  type EpochReport,
  type TrainOptions,
  type TrainableModel,
} from '@edgeml/distill';
import { assertSameLayout, subtractWeights, type Weights } from './weights.js';

/** How a client trains locally in a round: the trainer's options, plus FedProx's μ. */
export interface LocalTrainingOptions extends Omit<
  TrainOptions,
  'penalty' | 'validation' | 'earlyStopping' | 'onCheckpoint'
> {
  /**
   * FedProx (Li et al., "Federated Optimization in Heterogeneous Networks", MLSys 2020): adds
   * μ/2·‖w − w_global‖² to the local loss, keeping clients near the global model on non-IID
   * data. 0 or absent: plain FedAvg local training.
   */
  proximalMu?: number;
}

/** What a client sends back after local training. */
export interface FitResult {
  /** The weights after local training. */
  weights: Weights;
  /** `weights − global`: what aggregation averages. */
  delta: Weights;
  /** Samples trained on (FedAvg's weight). */
  sampleCount: number;
  metrics: { loss: number; epochs: EpochReport[] };
}

async function countSamples(data: Dataset): Promise<number> {
  if (data.size !== undefined) return data.size;
  let n = 0;
  for await (const b of data.batches({ batchSize: 1024 })) n += Object.values(b.inputs)[0].dims[0];
  return n;
}

/**
 * A federated learning client over @edgeml/distill's trainable executor: it loads the global
 * weights the server sends, trains on its own data for some epochs, and returns its new
 * weights, the change and its sample count (Flower's `fit`); it evaluates the global model on
 * its data (`evaluate`). Runs wherever @edgeml/distill does — Node and browsers.
 *
 * @example
 * ```ts
 * const client = new FederatedClient(await TrainableModel.fromModel(model), localData);
 * const update = await client.fit(globalWeights, { epochs: 1, learningRate: 1e-3 });
 * send(update.delta, update.sampleCount);
 * ```
 */
export class FederatedClient {
  constructor(
    readonly model: TrainableModel,
    readonly data: Dataset,
    /** Data `evaluate` uses when given none (default: the training data). */
    readonly evaluation?: Dataset,
  ) {}

  /** The model's current weights. */
  getWeights(): Weights {
    return this.model.getWeights();
  }

  /** Load weights the server sent (Flower's `update_from_server`); names and shapes must match the model's. */
  setWeights(weights: Weights): void {
    assertSameLayout(this.model.getWeights(), weights, 'global weights');
    this.model.setWeights(weights);
  }

  /** Load `global`, train locally, and return the result (the model keeps the trained weights). */
  async fit(global: Weights, options: LocalTrainingOptions): Promise<FitResult> {
    this.setWeights(global);
    const mu = options.proximalMu ?? 0;
    if (!(mu >= 0)) throw new InvalidArgumentError(`proximalMu must be ≥ 0, got ${mu}`, 'proximalMu');
    const { proximalMu: _mu, ...train } = options;
    const sampleCount = await countSamples(this.data);
    if (!sampleCount) throw new InvalidArgumentError('this client has no training samples', 'data');
    const anchors = mu
      ? this.model.trainableWeightNames.map((name) =>
          tf.tensor(global[name].data as Float32Array, [...global[name].dims]),
        )
      : [];
    const variables = this.model.trainableVariables;
    const penalty = mu
      ? () => tf.mul<tf.Scalar>(tf.addN(variables.map((v, i) => tf.sum(tf.squaredDifference(v, anchors[i])))), mu / 2)
      : undefined;
    try {
      const report = await fineTune(this.model, this.data, { ...train, penalty });
      const weights = this.model.getWeights();
      return {
        weights,
        delta: subtractWeights(weights, global),
        sampleCount,
        metrics: { loss: report.epochs.at(-1)!.loss, epochs: report.epochs },
      };
    } finally {
      anchors.forEach((a) => a.dispose());
    }
  }

  /** Top-1 accuracy and loss of `weights` (default: the current ones) on `data` (default: the evaluation data). */
  async evaluate(
    weights?: Weights,
    data: Dataset = this.evaluation ?? this.data,
  ): Promise<{ accuracy: number; loss: number; sampleCount: number }> {
    if (weights) this.setWeights(weights);
    const [result, sampleCount] = await Promise.all([evaluate(this.model, data), countSamples(data)]);
    return { ...result, sampleCount };
  }
}
