/* global OffscreenCanvas -- used inside the page, where the browser defines it */
/**
 * Text set in real fonts (Debian's DejaVu and Liberation) by Chromium's canvas, for the OCR
 * benchmarks: single lines (recognizer, direction classifier) and pages (detector). The words are
 * running English text from the TypeScript package's third-party notices. Deterministic per seed.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { launchChromium } from '../scripts/chromium.mjs';

const FAMILIES = ['DejaVu Sans', 'DejaVu Serif', 'DejaVu Sans Mono', 'Liberation Sans', 'Liberation Serif'];
const require = createRequire(import.meta.url);
const corpus = fs
  .readFileSync(require.resolve('typescript/ThirdPartyNoticeText.txt'), 'utf8')
  .split(/\s+/)
  .filter((w) => /^[A-Za-z0-9,.()'-]+$/.test(w));

function seeded(seed) {
  let s = (seed * 2654435761 + 7) >>> 0;
  return () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
}

function style(random, minPx, spanPx) {
  return {
    fontPx: Math.round(minPx + spanPx * random()),
    family: FAMILIES[Math.floor(random() * FAMILIES.length)],
    bold: random() < 0.2,
    paper: 215 + Math.floor(random() * 40),
    ink: Math.floor(random() * 80),
  };
}

/** Page specs: lines of 2–9 words; line specs: one line as many words fit, `height` tall. */
function pageSpec(seed, size) {
  const random = seeded(seed);
  const s = style(random, 12, 16);
  const lines = [];
  for (let top = 6 + random() * 12; top + s.fontPx < size - 4; top += s.fontPx * (1.4 + 0.8 * random())) {
    const start = Math.floor(random() * (corpus.length - 30));
    lines.push({
      top,
      left: 4 + Math.floor(random() * 30),
      words: corpus.slice(start, start + 2 + Math.floor(random() * 8)),
    });
  }
  return { width: size, height: size, ...s, lines };
}

function lineSpec(seed, width, height) {
  const random = seeded(seed);
  const s = style(random, height * 0.55, height * 0.25);
  const start = Math.floor(random() * (corpus.length - 30));
  const top = Math.round((height - s.fontPx) / 2 + (random() - 0.5) * 4);
  return {
    width,
    height,
    ...s,
    lines: [{ top, left: 2 + Math.floor(random() * 6), words: corpus.slice(start, start + 12) }],
  };
}

async function render(specs) {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const out = await page.evaluate(
      (all) =>
        all.map((p) => {
          const g = new OffscreenCanvas(p.width, p.height).getContext('2d');
          g.fillStyle = `rgb(${p.paper},${p.paper},${p.paper})`;
          g.fillRect(0, 0, p.width, p.height);
          g.font = `${p.bold ? 'bold ' : ''}${p.fontPx}px "${p.family}"`;
          g.fillStyle = `rgb(${p.ink},${p.ink},${p.ink})`;
          g.textBaseline = 'top';
          const texts = [];
          for (const line of p.lines) {
            let text = '';
            // A word too long for an empty line is skipped, so no line is left blank.
            for (const w of line.words) {
              const next = text ? `${text} ${w}` : w;
              if (g.measureText(next).width > p.width - line.left - 4) {
                if (text) break;
                continue;
              }
              text = next;
            }
            g.fillText(text, line.left, line.top);
            texts.push(text);
          }
          const rgba = g.getImageData(0, 0, p.width, p.height).data;
          let grey = '';
          for (let i = 0; i < rgba.length; i += 4) grey += String.fromCharCode(rgba[i]);
          return { grey: btoa(grey), text: texts.join('\n') };
        }),
      specs,
    );
    return out.map(({ grey, text }) => ({ grey: new Uint8Array(Buffer.from(grey, 'base64')), text }));
  } finally {
    await browser.close();
  }
}

/** `count` pages (`size` × `size`, grey 0–255) for seeds first, first + 1, …, with their text. */
export const renderPages = (count, first, size) =>
  render(Array.from({ length: count }, (_, i) => pageSpec(first + i, size)));

/** `count` single lines (`height` × `width`), text left-aligned, with their text. */
export const renderLines = (count, first, width, height = 48) =>
  render(Array.from({ length: count }, (_, i) => lineSpec(first + i, width, height)));
