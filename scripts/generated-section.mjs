/**
 * Writes generated text into a Markdown file between a pair of marker comments, keeping what
 * stands outside them (the hand-written notes), formatted with the repo's Prettier settings so
 * `pnpm -s format:check` stays clean. Used by the scripts that turn test results into tables.
 */
import * as fs from 'node:fs';
import * as prettier from 'prettier';

/**
 * Replace the text between `start` and `end` in `docFile` (a URL) by `text`. A file without the
 * markers is an error naming them (a missing file is created with them, under `title`).
 */
export async function writeGeneratedSection(docFile, { start, end, title }, text) {
  const doc = fs.existsSync(docFile) ? fs.readFileSync(docFile, 'utf8') : `# ${title}\n\n${start}\n${end}\n`;
  const [before, rest] = doc.split(start);
  const after = rest?.split(end)[1];
  if (after === undefined) {
    console.error(`${docFile.pathname} lacks the generated-section markers; put them back:\n${start}\n${end}`);
    process.exit(1);
  }
  const written = `${before}${start}\n\n${text}\n\n${end}${after}`;
  const options = (await prettier.resolveConfig(docFile.pathname)) ?? {};
  fs.writeFileSync(docFile, await prettier.format(written, { ...options, filepath: docFile.pathname }));
  console.log(`wrote ${docFile.pathname}`);
}

/** The results file a script reads, parsed; a missing one exits saying which test writes it. */
export function readResults(resultsFile, command) {
  if (!fs.existsSync(resultsFile)) {
    console.error(`no ${resultsFile.pathname}: run '${command}' first`);
    process.exit(1);
  }
  return JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
}

/** A Markdown table cell: no pipes, no line breaks. */
export const esc = (s) =>
  String(s)
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ');
