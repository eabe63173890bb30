import { Graph, InvalidArgumentError, Model, Tensor, seededRandom, tensorType } from '@edgeml/core';

/** A small convolutional classifier, as a student architecture is usually sketched. */
export interface CnnSpec {
  /** Input as [channels, height, width] (the model takes [batch, …] in NCHW). */
  input: [number, number, number];
  /** Conv 3×3 (pad 1) → BatchNorm (if `batchNorm`) → Relu → MaxPool 2×2 (if `pool`), per entry. */
  convs: { channels: number; kernel?: number; pool?: boolean }[];
  /** Hidden fully connected layers after flattening (Gemm → Relu). */
  hidden?: number[];
  classes: number;
  batchNorm?: boolean;
  /** Dropout ratio before the last layer (0: none). */
  dropout?: number;
  /** Seed of the He-normal initialisation. */
  seed?: number;
  inputName?: string;
  outputName?: string;
}

/**
 * Build a CNN classifier as an ONNX Model with freshly initialised weights (He-normal), ready
 * for {@link TrainableModel} — a student to distill into, or a model to train from scratch.
 *
 * @example
 * ```ts
 * const student = buildCnn({ input: [1, 28, 28], convs: [{ channels: 8, pool: true }, { channels: 16, pool: true }], classes: 10 });
 * ```
 */
export function buildCnn(spec: CnnSpec): Model {
  if (spec.convs.some((c) => !(c.channels > 0)) || !(spec.classes > 1))
    throw new InvalidArgumentError(
      'every conv needs a positive channel count, and a classifier at least 2 classes',
      'spec',
    );
  const rand = seededRandom(spec.seed ?? 1);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const he = (dims: number[], fanIn: number) =>
    Tensor.from(
      'float32',
      dims,
      Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => gauss() * Math.sqrt(2 / fanIn)),
    );
  const zeros = (n: number) => Tensor.from('float32', [n], new Float32Array(n));
  const g = new Graph('cnn');
  let [c, h, w] = spec.input;
  let v = g.addInput(spec.inputName ?? 'image', tensorType('float32', ['batch', c, h, w]));
  spec.convs.forEach((conv, i) => {
    const k = conv.kernel ?? 3;
    const p = Math.floor(k / 2);
    v = g.op(
      'Conv',
      [
        v,
        g.addInitializer(`conv${i}.weight`, he([conv.channels, c, k, k], c * k * k)),
        g.addInitializer(`conv${i}.bias`, zeros(conv.channels)),
      ],
      { pads: [p, p, k - 1 - p, k - 1 - p] },
      { name: `conv${i}` },
    ).outputs[0];
    c = conv.channels;
    if (spec.batchNorm) {
      v = g.op(
        'BatchNormalization',
        [
          v,
          g.addInitializer(`bn${i}.scale`, Tensor.from('float32', [c], new Float32Array(c).fill(1))),
          g.addInitializer(`bn${i}.bias`, zeros(c)),
          g.addInitializer(`bn${i}.mean`, zeros(c)),
          g.addInitializer(`bn${i}.var`, Tensor.from('float32', [c], new Float32Array(c).fill(1))),
        ],
        {},
        { name: `bn${i}` },
      ).outputs[0];
    }
    v = g.op('Relu', [v], {}, { name: `relu${i}` }).outputs[0];
    if (conv.pool) {
      v = g.op('MaxPool', [v], { kernel_shape: [2, 2], strides: [2, 2] }, { name: `pool${i}` }).outputs[0];
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
    }
  });
  v = g.op('Flatten', [v], {}, { name: 'flatten' }).outputs[0];
  let width = c * h * w;
  (spec.hidden ?? []).forEach((units, i) => {
    v = g.op(
      'Gemm',
      [v, g.addInitializer(`fc${i}.weight`, he([units, width], width)), g.addInitializer(`fc${i}.bias`, zeros(units))],
      { transB: 1 },
      { name: `fc${i}` },
    ).outputs[0];
    v = g.op('Relu', [v], {}, { name: `fc${i}_relu` }).outputs[0];
    width = units;
  });
  if (spec.dropout)
    v = g.op(
      'Dropout',
      [v, g.addInitializer('dropout.ratio', Tensor.from('float32', [], [spec.dropout]))],
      {},
      { name: 'dropout' },
    ).outputs[0];
  const y = g.op(
    'Gemm',
    [
      v,
      g.addInitializer('head.weight', he([spec.classes, width], width)),
      g.addInitializer('head.bias', zeros(spec.classes)),
    ],
    { transB: 1 },
    { name: 'head' },
  ).outputs[0];
  y.name = spec.outputName ?? 'logits';
  y.type = tensorType('float32', ['batch', spec.classes]);
  g.outputs.push(y);
  return new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8, producerName: 'edgeml' });
}
