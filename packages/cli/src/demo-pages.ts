/**
 * Text pages for the demo's detector: lines of glyphs drawn from a small stroke font, dark ink
 * on paper, deterministic per seed. No image ships with the CLI and nothing is downloaded, so the
 * pages are drawn; the detector sees strokes laid out as words and lines, as on a scanned page.
 */
import { Tensor } from '@edgeml/core';

type Stroke = readonly (readonly [number, number])[];

/**
 * Glyphs on a 4 × 6 grid: polylines of "x,y" points, strokes split by "|" (digits and a few
 * capitals).
 */
const FONT: readonly Stroke[][] = [
  '0,0 4,0 4,6 0,6 0,0',
  '1,1 2,0 2,6',
  '0,0 4,0 4,3 0,3 0,6 4,6',
  '0,0 4,0 4,6 0,6|1,3 4,3',
  '0,0 0,3 4,3|3,0 3,6',
  '4,0 0,0 0,3 4,3 4,6 0,6',
  '0,6 4,6 4,3 0,3|0,0 0,6',
  '0,0 4,0 1,6',
  '0,6 0,0 2,3 4,0 4,6',
  '0,6 2,0 4,6|1,3 3,3',
  '0,0 0,6|4,0 4,6|0,3 4,3',
  '0,0 4,6|4,0 0,6',
  '0,0 0,6 4,6',
  '0,0 4,0|2,0 2,6',
].map((glyph) =>
  glyph.split('|').map((stroke) => stroke.split(' ').map((p) => p.split(',').map(Number) as [number, number])),
);

/** Paper and ink, as a scan sees them (0 = black, 1 = white). */
const PAPER = 0.94;
const INK = 0.12;

function distanceToSegment(px: number, py: number, [ax, ay]: readonly number[], [bx, by]: readonly number[]): number {
  const dx = bx - ax,
    dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function drawGlyph(page: Float32Array, width: number, glyph: Stroke[], left: number, top: number, size: number): void {
  const cell = size / 6;
  const pen = Math.max(1.2, size / 9);
  for (let y = Math.floor(top - pen); y <= top + size + pen; y++)
    for (let x = Math.floor(left - pen); x <= left + 4 * cell + pen; x++) {
      if (x < 0 || y < 0 || x >= width || y * width + x >= page.length) continue;
      let d = Infinity;
      for (const stroke of glyph)
        for (let i = 1; i < stroke.length; i++) {
          const [a, b] = [stroke[i - 1], stroke[i]];
          d = Math.min(
            d,
            distanceToSegment(x, y, [left + a[0] * cell, top + a[1] * cell], [left + b[0] * cell, top + b[1] * cell]),
          );
        }
      // Anti-aliased edge: full ink inside the pen, fading over one pixel.
      const cover = Math.max(0, Math.min(1, pen / 2 + 0.5 - d));
      const i = y * width + x;
      page[i] = Math.min(page[i], PAPER - cover * (PAPER - INK));
    }
}

/** One grey page of `height` × `width`: ragged lines of words, glyph size and spacing varying with the seed. */
export function textPage(height: number, width: number, seed: number): Float32Array {
  let s = (seed * 2654435761 + 1) >>> 0;
  const random = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const page = new Float32Array(height * width).fill(PAPER);
  const size = 14 + Math.floor(random() * 14);
  for (let top = 8 + Math.floor(random() * 10); top + size < height - 4; top += Math.round(size * (1.5 + random()))) {
    let left = 6 + Math.floor(random() * 30);
    const end = width - 6 - Math.floor(random() * width * 0.4);
    while (left + size < end) {
      const letters = 2 + Math.floor(random() * 6);
      for (let c = 0; c < letters && left + size < end; c++, left += Math.round(size * 0.85))
        drawGlyph(page, width, FONT[Math.floor(random() * FONT.length)], left, top, size);
      left += Math.round(size * (0.6 + random()));
    }
  }
  return page;
}

/**
 * A page as PaddleOCR's detector takes it: RGB planes of the grey page, scaled to [0, 1] and
 * normalised with ImageNet's mean and standard deviation, `[1, 3, height, width]`.
 */
export function detectorInput(height: number, width: number, seed: number): Tensor<'float32'> {
  const page = textPage(height, width, seed);
  const mean = [0.485, 0.456, 0.406],
    std = [0.229, 0.224, 0.225];
  const out = new Float32Array(3 * height * width);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < page.length; i++) out[c * page.length + i] = (page[i] - mean[c]) / std[c];
  return Tensor.from('float32', [1, 3, height, width], out);
}
