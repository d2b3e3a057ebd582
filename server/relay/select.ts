import type { LiveChannel } from "../channels/registry";

/**
 * Orders candidate channels: highest priority tier first; within a tier, a weighted random order
 * (weighted sampling without replacement), so failover tries the rest of the tier before lower tiers.
 * Channels with weight 0 are kept as last resorts within their tier.
 */
export function orderCandidates(channels: readonly LiveChannel[], random: () => number = Math.random): LiveChannel[] {
  if (channels.length === 1) return [channels[0]!]; // the common case, without the tier map
  const tiers = new Map<number, LiveChannel[]>();
  for (const c of channels) {
    const t = tiers.get(c.row.priority);
    if (t) t.push(c);
    else tiers.set(c.row.priority, [c]);
  }
  const out: LiveChannel[] = [];
  for (const p of [...tiers.keys()].sort((a, b) => b - a)) {
    const pool = [...tiers.get(p)!];
    while (pool.length > 0) {
      const total = pool.reduce((s, c) => s + c.row.weight, 0);
      let i = 0;
      if (total > 0) {
        let r = random() * total;
        while (i < pool.length - 1 && (r -= pool[i]!.row.weight) >= 0) i++;
        if (pool[i]!.row.weight === 0) i = pool.findIndex((c) => c.row.weight > 0);
      }
      out.push(pool.splice(i, 1)[0]!);
    }
  }
  return out;
}
