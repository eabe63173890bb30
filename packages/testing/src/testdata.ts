/** The ONNX backend test data shipped by Debian's libonnx-testdata. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const TESTDATA_ROOT = '/usr/share/libonnx-testdata/data';
export const SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'] as const;

export interface TestCase {
  name: string;
  dir: string;
  model: string;
  dataSets: { inputs: string[]; outputs: string[] }[];
}

const byIndex = (files: string[], prefix: string) =>
  files
    .filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3)));

export function listCases(suites: readonly string[] = SUITES): TestCase[] {
  const out: TestCase[] = [];
  for (const suite of suites) {
    const root = path.join(TESTDATA_ROOT, suite);
    if (!fs.existsSync(root))
      throw new Error(
        `ONNX test data not found at ${root}; install Debian's libonnx-testdata (scripts/test-all.sh does)`,
      );
    for (const name of fs.readdirSync(root).sort()) {
      const dir = path.join(root, name);
      const model = path.join(dir, 'model.onnx');
      if (!fs.existsSync(model)) continue;
      const dataSets = fs
        .readdirSync(dir)
        .filter((d) => d.startsWith('test_data_set_'))
        .sort()
        .map((d) => {
          const files = fs.readdirSync(path.join(dir, d));
          return {
            inputs: byIndex(files, 'input_').map((f) => path.join(dir, d, f)),
            outputs: byIndex(files, 'output_').map((f) => path.join(dir, d, f)),
          };
        });
      out.push({ name: `${suite}/${name}`, dir, model, dataSets });
    }
  }
  return out;
}
