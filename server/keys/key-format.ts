import { randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Issued keys follow RELAY_KEY_FORMAT: literal text and random parts `{alphabet:length}`, e.g. the default
 * `sk-app-{id:8}_{base62:48}`, or `oruel_{hex:48}`, `vl_{base62:40}`, `sk-{base62:48}`. Keys are found by the
 * SHA-256 of the whole key, so any format works and keys of an earlier format keep working. What is shown
 * and logged of a key (its prefix) is the literal text up to the first random part and that part's first
 * eight characters: for the default format, `sk-app-` and the 8-character id.
 */
const ALPHABETS: Record<string, string> = {
  id: "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
  base62: "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
  base58: "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
  base32: "abcdefghijklmnopqrstuvwxyz234567",
  hex: "0123456789abcdef",
};

/** Random parts need at least this much entropy in all: a guessable key is refused at start. */
export const MIN_KEY_BITS = 128;

export type KeyFormat = { template: string; parts: ({ literal: string } | { alphabet: string; length: number })[]; bits: number };

/** Parses a key template, or returns what is wrong with it. */
export function parseKeyFormat(template: string): KeyFormat | string {
  const parts: KeyFormat["parts"] = [];
  let bits = 0;
  const re = /\{([a-z0-9]+):(\d{1,3})\}/g;
  let at = 0;
  for (const m of template.matchAll(re)) {
    if (m.index! > at) parts.push({ literal: template.slice(at, m.index) });
    const alphabet = ALPHABETS[m[1]!];
    if (!alphabet) return `unknown alphabet '${m[1]}' (use one of ${Object.keys(ALPHABETS).join(", ")})`;
    const length = Number(m[2]);
    if (length < 1) return `a random part needs a length of at least 1`;
    parts.push({ alphabet, length });
    bits += length * Math.log2(alphabet.length);
    at = m.index! + m[0].length;
  }
  if (at < template.length) parts.push({ literal: template.slice(at) });
  const literals = parts.filter((p): p is { literal: string } => "literal" in p).map((p) => p.literal).join("");
  if (/[{}\s,]/.test(literals)) return `literal text may not contain braces, spaces or commas: '${literals}'`;
  if (!/^[\x21-\x7e]*$/.test(literals)) return "literal text must be printable ASCII";
  if (bits < MIN_KEY_BITS) return `the random parts hold ${Math.floor(bits)} bits; at least ${MIN_KEY_BITS} are needed (e.g. {base62:22} or {hex:32})`;
  return { template, parts, bits };
}

/**
 * `n` characters of `alphabet` from the CSPRNG. Bytes at or past the largest multiple of the alphabet's size
 * below 256 are rejected rather than reduced, so every character is exactly equally likely.
 */
export function randomChars(n: number, alphabet: string): string {
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < n) {
    const buf = randomBytes(Math.ceil((n - out.length) * 1.25) + 4);
    for (let i = 0; i < buf.length && out.length < n; i++) {
      const b = buf[i]!;
      if (b < limit) out += alphabet[b % alphabet.length];
    }
  }
  return out;
}

export function randomBase62(n: number): string {
  return randomChars(n, ALPHABETS.base62!);
}

export type GeneratedKey = { key: string; prefix: string; hash: string };

/** A new key in `format`, with its shown prefix and its digest. */
export function generateKey(format: KeyFormat): GeneratedKey {
  let key = "";
  let prefix: string | null = null;
  for (const p of format.parts) {
    if ("literal" in p) key += p.literal;
    else {
      const r = randomChars(p.length, p.alphabet);
      if (prefix === null) prefix = key + r.slice(0, 8);
      key += r;
    }
  }
  return { key, prefix: prefix ?? key, hash: digestHex(key) };
}

/** The shown prefix of a key given in full (an imported one): as the current format would show it, or its start. */
export function prefixOfKey(key: string, format: KeyFormat): string {
  const lead = format.parts[0] && "literal" in format.parts[0] ? format.parts[0].literal : "";
  return lead && key.startsWith(lead) ? key.slice(0, lead.length + 8) : key.slice(0, Math.min(12, Math.floor(key.length / 3)));
}

/** Hex SHA-256 of a whole key: how it is stored and found. */
export function digestHex(key: string): string {
  return Bun.SHA256.hash(key, "hex") as string; // the one-shot SHA-256: half the cost of CryptoHasher
}

export function hashesEqual(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The part of a key of the first format that may be shown and logged: prefix and public id. */
export function publicPrefix(prefix: string, publicId: string): string {
  return `${prefix}${publicId}`;
}

/** What is shown and logged of a stored key: its own prefix, or for keys of the first format, prefix and public id. */
export function keyPrefixOf(ctx: { config: { RELAY_KEY_PREFIX: string } }, key: { prefix: string | null; publicId: string | null }): string {
  return key.prefix ?? publicPrefix(ctx.config.RELAY_KEY_PREFIX, key.publicId ?? "");
}
