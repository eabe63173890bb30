/**
 * Quantization-aware training as a quantization mode: static quantization places and calibrates
 * the Q/DQ pairs (the one placement both modes share), then a trainer you pass in trains the
 * quantized model through them and writes the learned numbers back. This package never imports
 * a trainer: @edgeml/distill has one (`quantizationAwareTraining`), and the CLI composes the two,
 * as it does backends. BatchNormalization is folded here rather than in `quantize()`'s
 * preprocessing, so the trainer learns what each fold removed (`QatModels.batchNorms`).
 */
import {
  InvalidArgumentError,
  eliminateDeadCode,
  foldBatchNorms,
  type FoldedBatchNorm,
  type Model,
} from '@edgeml/core';
import type { QuantizationRecord, QuantizationScheme } from './schemes.js';
import {
  quantizeStatic,
  staticQuantizationOpset,
  validateStaticOptions,
  type StaticQuantizeOptions,
} from './static-qdq.js';
import { OPTION_NAMES } from './option-names.js';

/** The two models a QAT trainer gets. */
export interface QatModels {
  /**
   * The QDQ model static quantization just wrote. The trainer writes its learned weights,
   * biases and scales into it in place, keeping its graph as it is.
   */
  quantized: Model;
  /** The float model it was quantized from (prepared as quantize() prepares it): the teacher, and the weights training starts from. */
  float: Model;
  /**
   * Every BatchNormalization folded into the layer before it (by name in both models), with
   * what the fold removed: a trainer may train the pair as torch.ao's ConvBn modules do (batch
   * statistics, then frozen ones) and write the folded layer back.
   */
  batchNorms: FoldedBatchNorm[];
}

/**
 * Trains `models.quantized` in place and returns what it wants reported (epochs, losses...),
 * e.g. `quantizationAwareTraining({ epochs: 2, data })` of @edgeml/distill.
 */
export type QatTrainer = (models: QatModels) => Promise<Record<string, unknown> | void>;

/** Options of the qat mode: static quantization's, and the trainer. */
export interface QatQuantizeOptions extends StaticQuantizeOptions {
  train: QatTrainer;
}

const withQatDefaults = (options: QatQuantizeOptions): QatQuantizeOptions => ({
  ...options,
  perChannel: options.perChannel ?? true,
  format: 'qdq',
});

/**
 * `quantize(model, { mode: 'qat', calibrationData, backend, train })`: static QDQ placement and
 * calibration, then `train`. The result's `training` holds what the trainer returned.
 */
export const qatScheme: QuantizationScheme<QatQuantizeOptions> = {
  name: 'qat',
  optionNames: OPTION_NAMES.qat,
  foldsBatchNorms: true,
  summary:
    'quantization-aware training: static QDQ placement, then weights (and optionally scales) trained through fake quantization',
  validate: (options) => {
    validateStaticOptions(options);
    if (typeof options.train !== 'function')
      throw new InvalidArgumentError(
        "mode 'qat' trains the quantized model: pass train, a QatTrainer (e.g. quantizationAwareTraining({ epochs, data }) from @edgeml/distill)",
        'train',
      );
    if (options.format === 'qoperator')
      throw new InvalidArgumentError(
        'mode qat writes QDQ form: its fake quantization trains through Q/DQ pairs',
        'format',
      );
  },
  needs: (options) => ({
    minOpset: staticQuantizationOpset(withQatDefaults(options)),
    fuseActivations: true,
    fuseNormalizations: true,
  }),
  passes: (options, record: QuantizationRecord) => [
    {
      name: 'quantization-aware-training',
      inPlace: true,
      async run(model) {
        const batchNorms: FoldedBatchNorm[] = [];
        if (foldBatchNorms(model.graph, batchNorms)) eliminateDeadCode(model.graph);
        const float = model.clone();
        const r = await quantizeStatic(model, withQatDefaults(options));
        record.quantized.push(...r.quantized);
        record.skipped.push(...r.skipped);
        record.ranges = r.ranges;
        record.dequantizedNames = r.dequantizedNames;
        record.training = (await options.train({ quantized: model, float, batchNorms })) ?? {};
        return { model, modified: true };
      },
    },
  ],
};
