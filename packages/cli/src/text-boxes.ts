/**
 * Text boxes from a detector's mask, the way a DBNet pipeline reads them: each connected region
 * of the binarised probability map is one box. Two detectors answer the same when they find the
 * same boxes, which a pixel count of the masks' overlap understates for thin text lines (a
 * boundary one pixel lower on a 12-pixel line costs 15 % of IoU and no box).
 */

/** An axis-aligned box, inclusive pixel bounds. */
export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Bounding boxes of the 4-connected regions of `mask` (`width` pixels a row) of at least `minArea` pixels. */
export function textBoxes(mask: Uint8Array, width: number, minArea = 10): Box[] {
  const seen = new Uint8Array(mask.length);
  const boxes: Box[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    const box = { left: width, top: Infinity, right: -1, bottom: -1 };
    let area = 0;
    seen[start] = 1;
    stack.push(start);
    while (stack.length) {
      const i = stack.pop()!;
      const [x, y] = [i % width, Math.floor(i / width)];
      area++;
      box.left = Math.min(box.left, x);
      box.right = Math.max(box.right, x);
      box.top = Math.min(box.top, y);
      box.bottom = Math.max(box.bottom, y);
      for (const j of [x > 0 ? i - 1 : -1, x < width - 1 ? i + 1 : -1, i - width, i + width])
        if (j >= 0 && j < mask.length && mask[j] && !seen[j]) {
          seen[j] = 1;
          stack.push(j);
        }
    }
    if (area >= minArea) boxes.push(box);
  }
  return boxes;
}

function boxIoU(a: Box, b: Box): number {
  const w = Math.min(a.right, b.right) - Math.max(a.left, b.left) + 1;
  const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) + 1;
  if (w <= 0 || h <= 0) return 0;
  const area = (r: Box) => (r.right - r.left + 1) * (r.bottom - r.top + 1);
  return (w * h) / (area(a) + area(b) - w * h);
}

/** How many of `reference`'s boxes have a box in `other` overlapping it by IoU ≥ 0.5 (each matched once). */
export function matchedBoxes(reference: readonly Box[], other: readonly Box[]): number {
  const used = new Set<number>();
  let matched = 0;
  for (const r of reference) {
    let best = -1,
      bestIoU = 0.5;
    other.forEach((o, k) => {
      const iou = used.has(k) ? 0 : boxIoU(r, o);
      if (iou >= bestIoU) [best, bestIoU] = [k, iou];
    });
    if (best >= 0) {
      used.add(best);
      matched++;
    }
  }
  return matched;
}
