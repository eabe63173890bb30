/**
 * 2-D convolution over NCHW float32 data, forward and both gradients, as im2col + GEMM: the
 * kernels behind the executor's Conv, so CNN training in Node does not spend its time in
 * tfjs-core's generic Conv2DBackpropFilter. Groups (depthwise included), strides, dilations
 * and asymmetric pads.
 */
import { gemm, gemmTransB } from './gemm.js';

/** Geometry of one convolution (pads: top, left, bottom, right). */
export interface ConvGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  M: number;
  kH: number;
  kW: number;
  group: number;
  strides: [number, number];
  dilations: [number, number];
  pads: [number, number, number, number];
  OH: number;
  OW: number;
}

/** Output size and the rest of the geometry from input/weight shapes and attributes. */
export function convGeometry(
  x: readonly number[],
  w: readonly number[],
  group: number,
  strides: [number, number],
  dilations: [number, number],
  pads: [number, number, number, number],
): ConvGeometry {
  const [N, C, H, W] = x;
  const [M, , kH, kW] = w;
  const OH = Math.floor((H + pads[0] + pads[2] - (dilations[0] * (kH - 1) + 1)) / strides[0]) + 1;
  const OW = Math.floor((W + pads[1] + pads[3] - (dilations[1] * (kW - 1) + 1)) / strides[1]) + 1;
  return { N, C, H, W, M, kH, kW, group, strides, dilations, pads, OH, OW };
}

/**
 * One image's channel group as columns: row r = (c, i, j) of a [Cg·kH·kW, stride] matrix, this
 * image's OH·OW columns starting at `colOff` (zeros where the window leaves the image).
 */
function im2col(
  x: Float32Array,
  xOff: number,
  g: ConvGeometry,
  cg: number,
  col: Float32Array,
  colOff: number,
  stride: number,
): void {
  const {
    H,
    W,
    kH,
    kW,
    OH,
    OW,
    strides: [sh, sw],
    dilations: [dh, dw],
    pads: [pt, pl],
  } = g;
  let r = 0;
  for (let c = 0; c < cg; c++) {
    const xc = xOff + c * H * W;
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++, r++) {
        const row = r * stride + colOff;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * sh - pt + i * dh;
          const o = row + oh * OW;
          if (ih < 0 || ih >= H) {
            col.fill(0, o, o + OW);
            continue;
          }
          const xr = xc + ih * W;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * sw - pl + j * dw;
            col[o + ow] = iw >= 0 && iw < W ? x[xr + iw] : 0;
          }
        }
      }
    }
  }
}

/** Scatter-add one image's columns back into its channel group (the adjoint of im2col). */
function col2im(
  col: Float32Array,
  colOff: number,
  stride: number,
  g: ConvGeometry,
  cg: number,
  dx: Float32Array,
  dxOff: number,
): void {
  const {
    H,
    W,
    kH,
    kW,
    OH,
    OW,
    strides: [sh, sw],
    dilations: [dh, dw],
    pads: [pt, pl],
  } = g;
  let r = 0;
  for (let c = 0; c < cg; c++) {
    const xc = dxOff + c * H * W;
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++, r++) {
        const row = r * stride + colOff;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * sh - pt + i * dh;
          if (ih < 0 || ih >= H) continue;
          const xr = xc + ih * W,
            o = row + oh * OW;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * sw - pl + j * dw;
            if (iw >= 0 && iw < W) dx[xr + iw] += col[o + ow];
          }
        }
      }
    }
  }
}

/** Images per GEMM: as many as keep the column matrix under ~8M floats (32 MB). */
function chunkOf(g: ConvGeometry, K: number): number {
  return Math.max(1, Math.min(g.N, Math.floor(8_000_000 / (K * g.OH * g.OW))));
}

/**
 * y[N,M,OH,OW] = conv(x, w) + b. Several images share one GEMM (columns side by side), so the
 * innermost loop runs over images × output pixels, not just one small feature map.
 */
export function convForward(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | undefined,
  g: ConvGeometry,
): Float32Array {
  const { N, C, H, W, M, kH, kW, group, OH, OW } = g;
  const cg = C / group,
    mg = M / group,
    K = cg * kH * kW,
    P = OH * OW;
  const y = new Float32Array(N * M * P);
  const chunk = chunkOf(g, K);
  const col = new Float32Array(K * chunk * P);
  const out = new Float32Array(mg * chunk * P);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const nb = Math.min(chunk, N - n0),
      stride = nb * P;
    for (let gi = 0; gi < group; gi++) {
      for (let t = 0; t < nb; t++) im2col(x, ((n0 + t) * C + gi * cg) * H * W, g, cg, col, t * P, stride);
      gemm(w, gi * mg * K, K, 1, col, 0, out, 0, mg, K, stride, false);
      for (let m = 0; m < mg; m++) {
        const bv = b ? b[gi * mg + m] : 0;
        for (let t = 0; t < nb; t++) {
          const dst = ((n0 + t) * M + gi * mg + m) * P,
            src = m * stride + t * P;
          for (let p = 0; p < P; p++) y[dst + p] = out[src + p] + bv;
        }
      }
    }
  }
  return y;
}

/**
 * Gradients of the loss with respect to x, w and b, given dy [N,M,OH,OW]. `want.dx` false
 * (x is data, not a weight's product) skips the input gradient: a model's first layer saves a
 * third of its backward work. `want.dw` false skips the filter gradient (x may then be absent):
 * that alone is a transposed convolution's forward pass.
 */
export function convBackward(
  x: Float32Array | undefined,
  w: Float32Array,
  dy: Float32Array,
  g: ConvGeometry,
  want: { dx: boolean; dw: boolean } = { dx: true, dw: true },
): { dx: Float32Array | undefined; dw: Float32Array | undefined; db: Float32Array } {
  const { N, C, H, W, M, kH, kW, group, OH, OW } = g;
  const cg = C / group,
    mg = M / group,
    K = cg * kH * kW,
    P = OH * OW;
  const dx = want.dx ? new Float32Array(N * C * H * W) : undefined;
  const dw = want.dw ? new Float32Array(M * K) : undefined;
  const db = new Float32Array(M);
  const chunk = chunkOf(g, K);
  const col = dw ? new Float32Array(K * chunk * P) : undefined;
  const dcol = new Float32Array(K * chunk * P);
  const dyg = new Float32Array(mg * chunk * P);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const nb = Math.min(chunk, N - n0),
      stride = nb * P;
    for (let gi = 0; gi < group; gi++) {
      // This group's output gradient as [mg, images × pixels], like the forward product.
      for (let m = 0; m < mg; m++) {
        let s = 0;
        for (let t = 0; t < nb; t++) {
          const src = ((n0 + t) * M + gi * mg + m) * P,
            dst = m * stride + t * P;
          for (let p = 0; p < P; p++) {
            const v = dy[src + p];
            dyg[dst + p] = v;
            s += v;
          }
        }
        db[gi * mg + m] += s;
      }
      if (dw && col && x) {
        for (let t = 0; t < nb; t++) im2col(x, ((n0 + t) * C + gi * cg) * H * W, g, cg, col, t * P, stride);
        // dW_g += dY_g · colᵀ
        gemmTransB(dyg, 0, col, 0, dw, gi * mg * K, mg, stride, K, true, dcol);
      }
      if (!dx) continue;
      // dcol = W_gᵀ · dY_g, then back to image layout
      gemm(w, gi * mg * K, 1, K, dyg, 0, dcol, 0, K, mg, stride, false);
      for (let t = 0; t < nb; t++) col2im(dcol, t * P, stride, g, cg, dx, ((n0 + t) * C + gi * cg) * H * W);
    }
  }
  return { dx, dw, db };
}
