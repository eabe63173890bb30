/** Small timing helpers shared by the benchmarks. */
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
export const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
export const ms = (ns) => Number(ns) / 1e6;
export function time(fn) {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return [ms(process.hrtime.bigint() - t0), r];
}
