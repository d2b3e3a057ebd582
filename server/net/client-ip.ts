import { ipInAny, normalizeIp, type Cidr } from "./cidr";

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy, in which case
 * X-Forwarded-For is read right to left up to the first address that is not a trusted proxy.
 */
export function resolveClientIp(peer: string, forwardedFor: string | null, trusted: readonly Cidr[]): string {
  const p = normalizeIp(peer);
  if (!forwardedFor || trusted.length === 0 || !ipInAny(p, trusted)) return p;
  const hops = forwardedFor.split(",").map((s) => s.trim()).filter(Boolean);
  let last = p;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeIp(hops[i]!);
    last = hop;
    if (!ipInAny(hop, trusted)) return hop;
  }
  return last;
}
