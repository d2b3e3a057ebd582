import { Text } from "ink";
import { num } from "../format";
import { resample, sparkline } from "../state/timeline";

/** One series of a chart; all series of one chart cover the same hours (equal lengths). */
export type Series = { label: string; values: readonly number[] };

/**
 * The text of each line: labels padded to the longest and totals to the widest, so every series gets
 * the same cells and the same buckets, and an hour sits in the same column on every line.
 */
export function sparklineRows(series: readonly Series[], width: number): { label: string; bars: string; total: string }[] {
  const labelWidth = Math.max(0, ...series.map((s) => s.label.length)) + 1;
  const totals = series.map((s) => num(s.values.reduce((a, b) => a + b, 0)));
  const totalWidth = Math.max(0, ...totals.map((t) => t.length));
  const cells = Math.max(4, width - labelWidth - totalWidth - 3);
  return series.map((s, i) => ({
    label: s.label.padEnd(labelWidth),
    bars: sparkline(resample(s.values, cells)),
    total: ` Σ ${totals[i]!.padStart(totalWidth)}`,
  }));
}

/** "label ▁▃█▂ Σ N" per series, sharing one x-axis. */
export function Sparklines({ series, width }: { series: readonly Series[]; width: number }) {
  return (
    <>
      {sparklineRows(series, width).map((r) => (
        <Text key={r.label} wrap="truncate">
          <Text dimColor>{r.label}</Text>
          <Text color="cyan">{r.bars}</Text>
          <Text dimColor>{r.total}</Text>
        </Text>
      ))}
    </>
  );
}
