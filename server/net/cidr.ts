import ipaddr from "ipaddr.js";

// ipaddr.js does the IPv4/IPv6 parsing (zone ids, `::` compression, embedded IPv4) that is easy to get wrong by hand.

export type Cidr = { addr: ipaddr.IPv4 | ipaddr.IPv6; bits: number };

/** Normalises `::ffff:a.b.c.d` to `a.b.c.d` so IPv4 rules match IPv4-mapped peers. */
export function normalizeIp(ip: string): string {
  try {
    const a = ipaddr.parse(ip);
    if (a.kind() === "ipv6" && (a as ipaddr.IPv6).isIPv4MappedAddress()) return (a as ipaddr.IPv6).toIPv4Address().toString();
    return a.toString();
  } catch {
    return ip;
  }
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128). Returns null when invalid. */
export function parseCidr(text: string): Cidr | null {
  try {
    if (text.includes("/")) {
      const [addr, bits] = ipaddr.parseCIDR(text);
      return { addr: unmap(addr), bits: addr.kind() === "ipv6" && unmap(addr).kind() === "ipv4" ? bits - 96 : bits };
    }
    const addr = unmap(ipaddr.parse(text));
    return { addr, bits: addr.kind() === "ipv4" ? 32 : 128 };
  } catch {
    return null;
  }
}

function unmap(a: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return a.kind() === "ipv6" && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
}

/** True when `ip` lies inside any of `cidrs`. Unparseable addresses match nothing. */
export function ipInAny(ip: string, cidrs: readonly Cidr[]): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = unmap(ipaddr.parse(ip));
  } catch {
    return false;
  }
  for (const c of cidrs) {
    if (c.addr.kind() === addr.kind() && (addr as ipaddr.IPv4).match(c.addr as ipaddr.IPv4, c.bits)) return true;
  }
  return false;
}

/** Compiles CIDR strings (already validated) into matchers. */
export function compileCidrs(list: readonly string[]): Cidr[] {
  return list.map(parseCidr).filter((c): c is Cidr => c !== null);
}
