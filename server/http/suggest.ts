/**
 * "Did you mean …?" for a mistyped field or path: the candidate nearest by edit distance, ignoring case,
 * `_` and `-` (so `spend_limit` finds `spendLimit`), or one named as a synonym. Null when nothing is close.
 */
export function suggest(word: string, candidates: readonly string[], synonyms: Readonly<Record<string, string>> = {}): string | null {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, "");
  const w = norm(word);
  const direct = synonyms[w] ?? synonyms[word];
  if (direct && candidates.includes(direct)) return direct;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(w, norm(c));
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  // Allow about one typo per four characters, at least one.
  return best !== null && bestDistance <= Math.max(1, Math.floor(w.length / 4)) ? best : null;
}

/** Levenshtein distance, for the short strings of field names and paths. */
function distance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
