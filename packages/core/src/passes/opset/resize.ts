/**
 * Upsample and Resize across their versions. Upsample-9 and Resize-10 are one op under two
 * names (asymmetric coordinates; nearest rounds down when enlarging and up when shrinking, as
 * onnxruntime runs them); Resize-11 made the coordinate mapping and the rounding attributes,
 * 13 made roi and scales optional, 18 added antialias, axes and keep_aspect_ratio_policy, 19
 * the half_pixel_symmetric mapping.
 */
import { Tensor } from '../../tensor/tensor.js';
import { KEEP, renameOp, type VersionAdapter } from './adapter.js';
import type { AdapterContext } from './context.js';

/** Upsample is deprecated at 10: Resize-10 takes its place. */
export const upsample10: VersionAdapter = {
  up: (ctx) => void renameOp(ctx, 'Resize'),
};

/** Below 10 Resize-10 is Upsample-9. */
export const resize10: VersionAdapter = {
  down: (ctx) => void renameOp(ctx, 'Upsample'),
};

/** How Resize-10 rounds in nearest mode, per the scales: floor when enlarging, ceil when shrinking. */
function nearestModeOf(ctx: AdapterContext, scales: number[] | undefined): 'floor' | 'ceil' {
  if (scales?.every((s) => s >= 1)) return 'floor';
  if (scales?.every((s) => s <= 1)) return 'ceil';
  return ctx.fail(
    scales
      ? `nearest rounding before opset 11 differs per axis for scales ${JSON.stringify(scales)} (floor enlarging, ceil shrinking), which one nearest_mode cannot express`
      : 'nearest rounding before opset 11 depends on scales computed at run time',
    'fold the scales to a constant, or keep opset 10',
  );
}

/** Resize-11: roi input, coordinate_transformation_mode, nearest_mode, cubic mode, sizes. */
export const resize11: VersionAdapter = {
  up: (ctx) => {
    const node = ctx.node;
    const scales = node.inputs[1];
    const mode = node.attr('mode', 'string', 'nearest');
    node.setAttr('coordinate_transformation_mode', 'string', 'asymmetric');
    if (mode === 'nearest') node.setAttr('nearest_mode', 'string', nearestModeOf(ctx, ctx.constInput(1, 'scales')));
    const roi = ctx.builder().constant(`${ctx.label}_roi`, Tensor.from('float32', [0], []));
    node.setInput(1, roi);
    node.setInput(2, scales);
  },
  down: (ctx) => {
    const node = ctx.node;
    const mode = node.attr('mode', 'string', 'nearest');
    const transform = node.attr('coordinate_transformation_mode', 'string', 'half_pixel');
    if (mode === 'cubic') ctx.fail("mode 'cubic' has no equivalent before opset 11", KEEP);
    if (transform !== 'asymmetric')
      ctx.fail(
        `coordinate_transformation_mode '${transform}' has no equivalent before opset 11 (only asymmetric)`,
        KEEP,
      );
    if (node.inputs[3] || !node.inputs[2])
      ctx.fail('output sizes (rather than scales) have no equivalent before opset 11', KEEP);
    if (mode === 'nearest') {
      const want = nearestModeOf(ctx, ctx.constInput(2, 'scales'));
      const have = node.attr('nearest_mode', 'string', 'round_prefer_floor');
      if (have !== want)
        ctx.fail(`nearest_mode '${have}' rounds differently from Resize-10 ('${want}' for these scales)`, KEEP);
    }
    for (const a of ['coordinate_transformation_mode', 'nearest_mode', 'cubic_coeff_a', 'exclude_outside'])
      node.attributes.delete(a);
    node.attributes.delete('extrapolation_value');
    const [, roi, scales] = node.inputs;
    node.truncateInputs(1);
    node.setInput(1, scales);
    ctx.discard(roi);
  },
};

/** Resize-13: roi and scales optional; tf_half_pixel_for_nn gone. */
export const resize13: VersionAdapter = {
  up: (ctx) => {
    const transform = ctx.node.attr('coordinate_transformation_mode', 'string', 'half_pixel');
    if (transform === 'tf_half_pixel_for_nn')
      ctx.fail("coordinate_transformation_mode 'tf_half_pixel_for_nn' was removed at opset 13", 'keep opset 11 or 12');
    // An empty initializer (the opset 11 spelling of "none") reads as "not given" from 13 on.
  },
  down: (ctx) => {
    for (const index of [1, 2])
      if (!ctx.node.inputs[index])
        ctx.node.setInput(index, ctx.builder().constant(`${ctx.label}_empty`, Tensor.from('float32', [0], [])));
  },
};

/** Resize-18: antialias, axes, keep_aspect_ratio_policy. */
export const resize18: VersionAdapter = {
  down: (ctx) => {
    const node = ctx.node;
    if (node.attr('antialias', 'int', 0)) ctx.fail('antialias=1 has no equivalent before opset 18', KEEP);
    const policy = node.attr('keep_aspect_ratio_policy', 'string', 'stretch');
    if (policy !== 'stretch') ctx.fail(`keep_aspect_ratio_policy '${policy}' has no equivalent before opset 18`, KEEP);
    const axes = node.attr('axes', 'ints');
    if (axes) {
      const rank = ctx.requireRank(0, 'resizing a subset of axes');
      const every = axes.length === rank && axes.every((a, i) => (a < 0 ? a + rank : a) === i);
      if (!every) ctx.fail(`axes ${JSON.stringify(axes)} (a subset of the input's) have no equivalent before 18`, KEEP);
    }
    for (const a of ['antialias', 'keep_aspect_ratio_policy', 'axes']) node.attributes.delete(a);
  },
};

/** Resize-19: coordinate_transformation_mode 'half_pixel_symmetric'. */
export const resize19: VersionAdapter = {
  down: (ctx) => {
    if (ctx.node.attr('coordinate_transformation_mode', 'string', 'half_pixel') === 'half_pixel_symmetric')
      ctx.fail("coordinate_transformation_mode 'half_pixel_symmetric' has no equivalent before opset 19", KEEP);
  },
};
