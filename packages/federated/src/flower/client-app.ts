/**
 * What an EdgeML client does with a Flower message — the part a Python `ClientApp` would be:
 * "train" loads the ArrayRecord into the model, trains with the ConfigRecord's settings and
 * replies with the new arrays and a MetricRecord; "evaluate" replies with metrics; "query"
 * replies with the current arrays. Key names follow Flower 1.26's strategies and templates
 * (`arrays`, `config`, `metrics`, `num-examples`, `train_loss`, `eval_loss`, `eval_acc`).
 */
import { InvalidArgumentError, Tensor, decodeNpy, encodeNpy } from '@edgeml/core';
import type { FederatedClient, LocalTrainingOptions } from '../client.js';
import type { Weights } from '../weights.js';
import { FlowerProtocolError } from './errors.js';
import {
  NUMPY_STYPE,
  type ConfigValue,
  type FlowerArray,
  type FlowerRecord,
  type MetricValue,
  type RecordDict,
} from './records.js';

/** The message types this client answers (`train.<action>` counts as `train`, and so on). */
export const HANDLED_TYPES = ['train', 'evaluate', 'query'] as const;

/** ConfigRecord keys read as training options, with the spellings Flower apps use. */
const CONFIG_KEYS: Record<string, keyof LocalTrainingOptions> = {
  lr: 'learningRate',
  'learning-rate': 'learningRate',
  learning_rate: 'learningRate',
  'local-epochs': 'epochs',
  local_epochs: 'epochs',
  epochs: 'epochs',
  'batch-size': 'batchSize',
  batch_size: 'batchSize',
  'proximal-mu': 'proximalMu',
  proximal_mu: 'proximalMu',
};

/** Training options for a round: `base`, overridden by the message's ConfigRecord (e.g. `lr`, `local-epochs`). */
export function trainingOptionsFrom(config: Map<string, ConfigValue> | undefined, base: LocalTrainingOptions) {
  const options: LocalTrainingOptions = { ...base };
  for (const [key, value] of config ?? []) {
    const option = CONFIG_KEYS[key];
    if (!option) continue;
    const n = typeof value === 'bigint' ? Number(value) : value;
    const ok =
      typeof n === 'number' && (option === 'epochs' || option === 'batchSize' ? Number.isInteger(n) && n > 0 : n >= 0);
    if (!ok) throw new InvalidArgumentError(`config '${key}' = ${String(value)} is not a valid ${option}`, key);
    (options as unknown as Record<string, number>)[option] = n;
  }
  return options;
}

function record<K extends FlowerRecord['kind']>(content: RecordDict, kind: K, preferred: string) {
  const wanted = content.get(preferred);
  if (wanted?.kind === kind) return wanted as Extract<FlowerRecord, { kind: K }>;
  const all = [...content.values()].filter((r) => r.kind === kind);
  return all.length === 1 ? (all[0] as Extract<FlowerRecord, { kind: K }>) : undefined;
}

/** How the message's arrays map onto the model's weights, to answer under the same keys. */
interface ArrayLayout {
  keys: string[];
  names: string[];
  dtypes: string[];
}

/**
 * The message's arrays as model weights. Keys that are the model's weight names map by name;
 * otherwise (e.g. `"0"`, `"1"`, … from a list of NumPy arrays) the arrays map by position onto
 * the model's weights in their order. Shapes must match.
 */
export function weightsFromArrays(
  arrays: Map<string, FlowerArray>,
  like: Weights,
): { weights: Weights; layout: ArrayLayout } {
  const keys = [...arrays.keys()];
  const modelNames = Object.keys(like);
  if (keys.length !== modelNames.length)
    throw new InvalidArgumentError(
      `the message has ${keys.length} arrays, the model ${modelNames.length} weights; the server's model is not this one`,
      'arrays',
    );
  const byName = keys.every((k) => k in like);
  const names = byName ? keys : modelNames;
  const weights: Weights = {};
  const dtypes: string[] = [];
  keys.forEach((key, i) => {
    const a = arrays.get(key)!;
    if (a.stype !== NUMPY_STYPE)
      throw new FlowerProtocolError(`array '${key}' is serialized as '${a.stype}'; this client reads '${NUMPY_STYPE}'`);
    let t = decodeNpy(a.data, `array '${key}'`);
    if (t.dtype !== 'float32' && t.dtype !== 'float64')
      throw new InvalidArgumentError(`array '${key}' is ${t.dtype}; model weights are float32 (or float64)`, key);
    if (t.dims.join() !== a.shape.join() || t.dtype !== a.dtype)
      throw new FlowerProtocolError(
        `array '${key}' says ${a.dtype} (${a.shape}), its .npy data holds ${t.dtype} (${t.dims})`,
      );
    if (t.dtype === 'float64') t = Tensor.from('float32', [...t.dims], Float32Array.from(t.toFloat64()));
    weights[names[i]] = t;
    dtypes.push(a.dtype);
  });
  return { weights, layout: { keys, names, dtypes } };
}

/** Weights as an ArrayRecord under the keys (and dtypes) they came in. */
export function arraysFromWeights(weights: Weights, layout: ArrayLayout): FlowerRecord {
  const arrays = new Map<string, FlowerArray>();
  layout.keys.forEach((key, i) => {
    let t = weights[layout.names[i]];
    if (layout.dtypes[i] === 'float64') t = Tensor.from('float64', [...t.dims], t.toFloat64());
    arrays.set(key, { dtype: t.dtype, shape: [...t.dims], stype: NUMPY_STYPE, data: encodeNpy(t) });
  });
  return { kind: 'arrays', arrays };
}

/** The model's own weights as an ArrayRecord keyed by weight name. */
function currentArrays(weights: Weights): FlowerRecord {
  const names = Object.keys(weights);
  return arraysFromWeights(weights, { keys: names, names, dtypes: names.map(() => 'float32') });
}

const metrics = (values: Record<string, MetricValue>): FlowerRecord => ({
  kind: 'metrics',
  values: new Map(Object.entries(values)),
});

/** What handling one message produced: the reply content and the figures to report. */
export interface AppResult {
  reply: RecordDict;
  metrics: Record<string, number>;
  config: Record<string, ConfigValue>;
}

/** Handle one message's content; the category is the part of the type before any `.`. */
export async function runClientApp(
  client: FederatedClient,
  messageType: string,
  content: RecordDict,
  base: LocalTrainingOptions,
): Promise<AppResult> {
  const category = messageType.split('.')[0];
  const configRecord = record(content, 'config', 'config');
  const config = Object.fromEntries(configRecord?.values ?? []);
  if (category === 'query') {
    const n = client.data.size;
    const reply: RecordDict = new Map([['arrays', currentArrays(client.getWeights())]]);
    if (n !== undefined) reply.set('metrics', metrics({ 'num-examples': BigInt(n) }));
    return { reply, metrics: n !== undefined ? { 'num-examples': n } : {}, config };
  }
  const arrayRecord = record(content, 'arrays', 'arrays');
  if (!arrayRecord)
    throw new FlowerProtocolError(
      `a '${messageType}' message must carry one ArrayRecord (the global model); it has none or several`,
    );
  const { weights, layout } = weightsFromArrays(arrayRecord.arrays, client.getWeights());
  if (category === 'train') {
    const fit = await client.fit(weights, trainingOptionsFrom(configRecord?.values, base));
    const figures = { train_loss: fit.metrics.loss, 'num-examples': fit.sampleCount };
    const reply: RecordDict = new Map([
      ['arrays', arraysFromWeights(fit.weights, layout)],
      ['metrics', metrics({ train_loss: fit.metrics.loss, 'num-examples': BigInt(fit.sampleCount) })],
    ]);
    return { reply, metrics: figures, config };
  }
  const result = await client.evaluate(weights);
  const figures = { eval_loss: result.loss, eval_acc: result.accuracy, 'num-examples': result.sampleCount };
  const reply: RecordDict = new Map([
    [
      'metrics',
      metrics({ eval_loss: result.loss, eval_acc: result.accuracy, 'num-examples': BigInt(result.sampleCount) }),
    ],
  ]);
  return { reply, metrics: figures, config };
}
