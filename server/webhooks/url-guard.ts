import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";

/**
 * The SSRF rule for webhook URLs: http or https only, and (unless RELAY_WEBHOOK_ALLOW_PRIVATE) every
 * address the host resolves to must be public unicast: no loopback, private, link-local, CGNAT,
 * unique-local, unspecified, multicast or reserved address, and no cloud metadata endpoint. Checked at
 * create and again before every attempt, since what a name resolves to may change.
 */
export type UrlVerdict = { ok: true } | { ok: false; reason: string };

/** Names that reach a cloud metadata service whatever they resolve to. */
const METADATA_HOSTS = new Set(["metadata.google.internal", "metadata.goog", "metadata"]);

/** ipaddr.js's range names as an operator reads them. */
const RANGE_NAMES: Record<string, string> = {
  linkLocal: "link-local", carrierGradeNat: "carrier-grade NAT", uniqueLocal: "unique-local", ipv4Mapped: "IPv4-mapped", rfc6052: "NAT64", rfc6145: "IPv4-translated",
};

/** Why this address may not be called (`127.0.0.1, a loopback address`), or null if it is public unicast. */
export function refusedAddress(ip: string): string | null {
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.parse(ip);
  } catch {
    return `${ip}, not an IP address`;
  }
  if (a.kind() === "ipv6" && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  const range = a.range();
  if (range === "unicast") return null;
  const name = RANGE_NAMES[range] ?? range;
  return `${a.toString()}, ${/^[aeiouIU]/.test(name) ? "an" : "a"} ${name} address`;
}

/** The shape of a webhook URL, without resolving it. */
export function urlShapeProblem(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return "not a valid URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return `only http and https URLs can receive webhooks, not ${u.protocol.replace(":", "")}`;
  if (u.username || u.password) return "a webhook URL may not carry a user name or password";
  return null;
}

export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<UrlVerdict> {
  const shape = urlShapeProblem(raw);
  if (shape) return { ok: false, reason: shape };
  if (allowPrivate) return { ok: true };
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, "").toLowerCase().replace(/\.$/, "");
  if (METADATA_HOSTS.has(host)) return { ok: false, reason: `${host} is a cloud metadata endpoint` };
  let addresses: { address: string }[];
  try {
    addresses = ipaddr.isValid(host) ? [{ address: host }] : await lookup(host, { all: true, verbatim: true });
  } catch (err) {
    return { ok: false, reason: `cannot resolve ${host} (${(err as { code?: string }).code ?? "DNS error"})` };
  }
  if (addresses.length === 0) return { ok: false, reason: `${host} resolves to no address` };
  for (const { address } of addresses) {
    const why = refusedAddress(address);
    if (why) return { ok: false, reason: address === host ? why.replace(", a", " is a") : `${host} resolves to ${why}` };
  }
  return { ok: true };
}
