/**
 * How long an old key keeps working after a rotation. Written as `0` or whole units, largest first:
 * `90s`, `30m`, `24h`, `2d`, `1h30m`. Capped so that a rotation cannot quietly keep a superseded key
 * alive for longer than a deliberate expiry would.
 */
export const DEFAULT_OVERLAP = "24h";
/** The longest overlap a rotation may leave: 30 days. */
export const MAX_OVERLAP_MS = 30 * 86_400_000;

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
const FORM = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const HINT = "a duration such as 24h, 30m, 90s, 2d or 1h30m (0 stops the old key now), at most 30d";

/** The overlap in milliseconds, or why the text is not one (a message naming the accepted forms and the cap). */
export function parseOverlap(text: string): { ms: number } | { error: string } {
  const t = text.trim().toLowerCase();
  if (t === "0") return { ms: 0 };
  const m = FORM.exec(t);
  if (!t || !m) return { error: `overlap '${text.slice(0, 40)}' is not ${HINT}` };
  const [, d, h, min, s] = m.map((x) => Number(x ?? 0));
  const ms = d! * UNIT_MS.d + h! * UNIT_MS.h + min! * UNIT_MS.m + s! * UNIT_MS.s;
  if (!Number.isSafeInteger(ms) || ms > MAX_OVERLAP_MS) return { error: `overlap '${text.slice(0, 40)}' is longer than the 30d cap; give ${HINT}` };
  return { ms };
}
