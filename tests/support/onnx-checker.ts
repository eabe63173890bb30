/** The official ONNX checker (Debian python3-onnx) as a test oracle: one Python process for many files. */
import { spawnSync } from 'node:child_process';

const SCRIPT = `
import json, sys, onnx
out = {}
for path in json.load(sys.stdin):
    try:
        onnx.checker.check_model(path, full_check=True)
        out[path] = None
    except Exception as e:
        out[path] = (type(e).__name__ + ': ' + str(e)).strip().splitlines()[0][:300]
json.dump(out, sys.stdout)
`;

/** Check each file; the result maps a path to null (valid) or the checker's first error line. */
export function checkModels(files: string[]): Map<string, string | null> {
  const res = spawnSync('/usr/bin/python3', ['-c', SCRIPT], {
    input: JSON.stringify(files),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (res.status !== 0) throw new Error(`onnx checker failed to run (is python3-onnx installed?): ${res.stderr}`);
  return new Map(Object.entries(JSON.parse(res.stdout) as Record<string, string | null>));
}
