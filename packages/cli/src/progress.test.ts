import { describe, expect, it } from 'vitest';
import { progressBar } from './progress.js';

describe('progressBar', () => {
  it('redraws in place only when the line changes, clears when done, prints notes above', () => {
    let out = '';
    const bar = progressBar((t) => (out += t), 'calibrating', true);
    bar.update(1, 4);
    bar.update(1, 4);
    bar.note('epoch 1 done');
    bar.update(4, 4);
    const lines = out.split('\r').filter(Boolean);
    expect(lines[0]).toBe('calibrating [#####...............] 1/4');
    expect(out).toContain('epoch 1 done\n');
    expect(out.endsWith('\r')).toBe(true);
    expect(out.match(/1\/4/g)).toHaveLength(1);
  });

  it('prints nothing when disabled (not a terminal, or --json)', () => {
    let out = '';
    const bar = progressBar((t) => (out += t), 'runs', false);
    bar.update(3);
    bar.note('x');
    expect(out).toBe('');
  });
});
