// The month is asked for twice per request (admission and settlement); formatting a date each time showed
// in profiles, so the current month's bounds are remembered.
let from = 0;
let to = -1;
let cached = "";

/** The UTC calendar month (`YYYY-MM`) that monthly token quotas count in. */
export function utcMonth(now = Date.now()): string {
  if (now >= from && now < to) return cached;
  const d = new Date(now);
  from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  to = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return (cached = d.toISOString().slice(0, 7));
}
