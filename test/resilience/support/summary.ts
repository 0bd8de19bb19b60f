import fs from 'node:fs';

/** One scenario's figures, printed by the global teardown in the run's summary. */
export function recordSummary(scenario: string, figures: Record<string, string | number | boolean>): void {
  const file = process.env.RESILIENCE_SUMMARY_FILE;
  if (!file) return;
  fs.appendFileSync(file, `${JSON.stringify({ scenario, figures })}\n`);
}

/** A histogram of `values` in `buckets` equal-width buckets, as printable lines. */
export function histogram(values: number[], buckets = 10, unit = 'ms'): string[] {
  if (values.length === 0) return ['(no values)'];
  const min = Math.min(...values);
  const max = Math.max(...values);
  const width = Math.max(1, Math.ceil((max - min + 1) / buckets));
  const counts = new Array<number>(buckets).fill(0);
  for (const v of values) counts[Math.min(buckets - 1, Math.floor((v - min) / width))]++;
  const top = Math.max(...counts);
  return counts.map((count, i) => {
    const from = min + i * width;
    const bar = '#'.repeat(Math.round((count / top) * 40));
    return `${String(from).padStart(7)}–${String(from + width - 1).padEnd(7)}${unit} ${String(count).padStart(5)} ${bar}`;
  });
}

/** The p-th percentile (0–100) of `values`. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
