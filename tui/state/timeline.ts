/** A key's usage per hour, drawn as sparklines: the server's points filled into one slot per hour. */
export type TimelinePoint = { hour: string; requests: number; tokens: number };

const HOUR = 3_600_000;

/** `hours` slots ending with the hour containing `now`; hours without a point are zero. */
export function hourlySeries(points: readonly TimelinePoint[], hours: number, now: number) {
  const last = Math.floor(now / HOUR);
  const requests = new Array<number>(hours).fill(0);
  const tokens = new Array<number>(hours).fill(0);
  for (const p of points) {
    const slot = hours - 1 - (last - Math.floor(Date.parse(p.hour) / HOUR));
    if (slot < 0 || slot >= hours || Number.isNaN(slot)) continue;
    requests[slot]! += p.requests;
    tokens[slot]! += p.tokens;
  }
  return { requests, tokens };
}

/** Sums neighbouring values so the series fits in `width` cells (never stretches a short one). */
export function resample(values: readonly number[], width: number): number[] {
  if (width <= 0) return [];
  if (values.length <= width) return [...values];
  const per = Math.ceil(values.length / width);
  const out: number[] = [];
  // Align buckets to the end so the newest hour always has its own cell at the right.
  for (let end = values.length; end > 0; end -= per) {
    out.unshift(values.slice(Math.max(0, end - per), end).reduce((a, b) => a + b, 0));
  }
  return out;
}

const BARS = "▁▂▃▄▅▆▇█";

/** One character per value; zero is a blank-looking floor, any positive value at least one step up. */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values
    .map((v) => {
      if (max === 0 || v <= 0) return " ";
      return BARS[Math.max(0, Math.min(BARS.length - 1, Math.ceil((v / max) * BARS.length) - 1))];
    })
    .join("");
}
