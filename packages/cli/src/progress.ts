/**
 * The one progress display of every command: on a terminal only, on stderr only (stdout may
 * be --json), redrawn in place, cleared when done.
 */

/** Whether progress may be shown: stderr is a terminal and the command is not printing JSON. */
export function progressEnabled(json: boolean | undefined): boolean {
  return !json && process.stderr.isTTY === true;
}

/**
 * A bar `label [#####.....] done/total` (or `label done` without a total), redrawn only when it
 * changes; `note` prints a finished line (an epoch's loss, say) above it.
 *
 * @example
 * ```ts
 * const bar = progressBar(stderr, 'calibrating', progressEnabled(values.json));
 * for (let i = 1; i <= n; i++) bar.update(i, n);
 * ```
 */
export function progressBar(stderr: (text: string) => void, label: string, enabled: boolean) {
  const width = 20;
  let last = '';
  const clear = () => {
    if (last) stderr(`\r${' '.repeat(last.length)}\r`);
    last = '';
  };
  return {
    update(done: number, total?: number, detail = ''): void {
      if (!enabled) return;
      const filled = total ? Math.round((done / total) * width) : 0;
      const line = total
        ? `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${detail ? `  ${detail}` : ''}`
        : `${label} ${done}${detail ? `  ${detail}` : ''}`;
      if (line === last) return;
      stderr(`\r${line.padEnd(last.length)}`);
      last = line;
      if (total && done >= total) clear();
    },
    note(text: string): void {
      if (!enabled) return;
      clear();
      stderr(`${text}\n`);
    },
  };
}
