/**
 * The examples the API docs open with compile against the packages' real exports: every ```ts
 * block in the module doc comment of each entry point (packages/<name>/src/*.ts, as named by
 * the `source` condition of its exports map) and in packages/<name>/README.md, each as a module
 * of its own, and the repository README's blocks read in order as one module, type-checked with
 * the TypeScript compiler API against the sources (no build needed). A renamed export, option
 * or parameter fails here, not in a user's editor.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

interface Example {
  /** The file the block is in and its first line there, for the failure message. */
  file: string;
  line: number;
  code: string;
}

/** ```ts / ```typescript blocks of a markdown text; `firstLine` is the text's first line in its file. */
function codeBlocks(markdown: string, file: string, firstLine: number): Example[] {
  const examples: Example[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```(ts|typescript)\s*$/.test(lines[i])) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !/^\s*```\s*$/.test(lines[i + 1])) i++;
    examples.push({ file, line: firstLine + start, code: lines.slice(start, i + 1).join('\n') });
    i++;
  }
  return examples;
}

/**
 * The ```ts blocks of a markdown text as one module, each line where it is in the file and the
 * prose blanked out: for a page whose blocks build on each other (the repository README).
 */
function asOneModule(markdown: string, file: string): Example {
  const lines = markdown.split('\n');
  let inCode = false;
  const code = lines.map((line) => {
    if (/^\s*```/.test(line)) {
      inCode = !inCode && /^\s*```(ts|typescript)\s*$/.test(line);
      return '';
    }
    return inCode ? line : '';
  });
  return { file, line: 1, code: code.join('\n') };
}

/** The module doc comment (the leading block with `@module`) of a source file, as markdown. */
function moduleComment(source: string): { text: string; firstLine: number } | undefined {
  const match = /^\s*\/\*\*([\s\S]*?)\*\//.exec(source);
  if (!match || !match[1].includes('@module')) return undefined;
  const firstLine = source.slice(0, match.index + match[0].indexOf('/**')).split('\n').length;
  const text = match[1]
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n');
  return { text, firstLine };
}

/** Every published package and the source files of its entry points. */
function packageEntries(): { name: string; dir: string; sources: string[] }[] {
  return fs
    .readdirSync(path.join(ROOT, 'packages'))
    .map((dir) => path.join(ROOT, 'packages', dir))
    .filter((dir) => fs.existsSync(path.join(dir, 'package.json')))
    .map((dir) => {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name: string;
        private?: boolean;
        exports?: Record<string, string | { source?: string }>;
      };
      const sources = Object.values(pkg.exports ?? {})
        .map((entry) => (typeof entry === 'string' ? undefined : entry.source))
        .filter((source): source is string => source !== undefined)
        .map((source) => path.join(dir, source));
      return { name: pkg.name, dir, sources, private: pkg.private };
    })
    .filter((p) => !p.private);
}

function collectExamples(): Map<string, Example[]> {
  const byPackage = new Map<string, Example[]>();
  for (const { name, dir, sources } of packageEntries()) {
    const examples: Example[] = [];
    for (const file of sources) {
      const comment = moduleComment(fs.readFileSync(file, 'utf8'));
      if (comment) examples.push(...codeBlocks(comment.text, path.relative(ROOT, file), comment.firstLine));
    }
    const readme = path.join(dir, 'README.md');
    if (fs.existsSync(readme))
      examples.push(...codeBlocks(fs.readFileSync(readme, 'utf8'), path.relative(ROOT, readme), 1));
    byPackage.set(name, examples);
  }
  return byPackage;
}

/**
 * Type-check snippets in one program (the package sources are parsed once). Each snippet is a
 * virtual file in tests/ so `@edgeml/*` resolves as it does for the repository's own tests.
 */
function typeCheck(snippets: Example[]): Map<Example, string[]> {
  const config = ts.readConfigFile(path.join(ROOT, 'tsconfig.base.json'), (f) => ts.sys.readFile(f));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  // An example may name a value only to show what comes back.
  Object.assign(options, { noEmit: true, noUnusedLocals: false, noUnusedParameters: false });
  const virtual = new Map<string, Example>();
  snippets.forEach((example, i) => virtual.set(path.join(ROOT, 'tests', `__doc_example_${i}__.ts`), example));
  const disk = ts.createCompilerHost(options);
  // Every example is a module (top-level await, its own scope), even one without imports.
  const text = (file: string) => `${virtual.get(file)!.code}\nexport {};\n`;
  const host: ts.CompilerHost = {
    ...disk,
    fileExists: (file) => virtual.has(file) || disk.fileExists(file),
    readFile: (file) => (virtual.has(file) ? text(file) : disk.readFile(file)),
    getSourceFile: (file, languageVersion, ...rest) =>
      virtual.has(file)
        ? ts.createSourceFile(file, text(file), languageVersion, true)
        : disk.getSourceFile(file, languageVersion, ...rest),
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  const results = new Map<Example, string[]>();
  for (const [file, example] of virtual) {
    const source = program.getSourceFile(file)!;
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    results.set(
      example,
      diagnostics.map((d) => {
        const line = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line;
        return `${example.file}:${example.line + line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      }),
    );
  }
  return results;
}

describe('package examples', () => {
  const byPackage = collectExamples();
  const frontPage = asOneModule(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'), 'README.md');
  const canary: Example = { file: 'canary', line: 1, code: "import { notAnEdgeMLExport } from '@edgeml/core';" };
  let results = new Map<Example, string[]>();
  // One program for all of them: the package sources are parsed and bound once (a few seconds).
  beforeAll(() => {
    results = typeCheck([...[...byPackage.values()].flat(), frontPage, canary]);
  });

  it('the checker rejects an example that imports a name the package does not export', () => {
    expect(results.get(canary)!.join('\n')).toMatch(/notAnEdgeMLExport/);
  });

  for (const [name, examples] of byPackage) {
    it(`${name}: its page opens with an example, and every example compiles`, () => {
      expect(examples.length, `${name} has no \`\`\`ts example in its module doc comment or README`).toBeGreaterThan(0);
      expect(examples.flatMap((e) => results.get(e)!).join('\n')).toBe('');
    });
  }

  it("the repository README's examples compile, read in order as one program", () => {
    expect(results.get(frontPage)!.join('\n')).toBe('');
  });
});
