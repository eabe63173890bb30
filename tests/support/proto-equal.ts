/** The onnx Python package as the oracle for "every field survives": protobuf message equality. */
import { spawnSync } from 'node:child_process';

const SCRIPT = `
import json, sys, onnx
from google.protobuf import text_format
def diff(a, b, path):
    # First differing field, for a readable report.
    for f, va in a.ListFields():
        vb = getattr(b, f.name)
        if f.label == f.LABEL_REPEATED:
            if len(va) != len(vb): return f'{path}.{f.name}: {len(va)} vs {len(vb)} entries'
            for i, (x, y) in enumerate(zip(va, vb)):
                if x != y:
                    return diff(x, y, f'{path}.{f.name}[{i}]') if hasattr(x, 'ListFields') else f'{path}.{f.name}[{i}]: {x!r:.60} vs {y!r:.60}'
        elif va != vb:
            return diff(va, vb, f'{path}.{f.name}') if hasattr(va, 'ListFields') else f'{path}.{f.name}: {va!r:.60} vs {vb!r:.60}'
    for f, vb in b.ListFields():
        if not a.HasField(f.name) if f.label != f.LABEL_REPEATED else len(getattr(a, f.name)) == 0:
            return f'{path}.{f.name}: only in the re-encoded model'
    return f'{path}: differs'
out = {}
for a, b in json.load(sys.stdin):
    ma, mb = onnx.load(a, load_external_data=False), onnx.load(b, load_external_data=False)
    out[a] = None if ma == mb else diff(ma, mb, 'model')
json.dump(out, sys.stdout)
`;

/** For each [original, copy] pair: null when the protobuf messages are equal, else the first difference. */
export function compareModels(pairs: [string, string][]): Map<string, string | null> {
  const res = spawnSync('/usr/bin/python3', ['-c', SCRIPT], {
    input: JSON.stringify(pairs),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (res.status !== 0) throw new Error(`onnx comparison failed to run: ${res.stderr}`);
  return new Map(Object.entries(JSON.parse(res.stdout) as Record<string, string | null>));
}
