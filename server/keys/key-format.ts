import { randomBytes, timingSafeEqual } from "node:crypto";

/** `<prefix><8 base62 public id>_<48 base62 secret>`: 64 characters with the default `sk-app-` prefix. */
export const PUBLIC_ID_LENGTH = 8;
export const SECRET_LENGTH = 48;

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * `n` base62 characters from the CSPRNG. Bytes >= 248 (the largest multiple of 62 below 256) are
 * rejected rather than reduced, so every character is exactly equally likely.
 */
export function randomBase62(n: number): string {
  let out = "";
  while (out.length < n) {
    const buf = randomBytes(Math.ceil((n - out.length) * 1.1) + 4);
    for (let i = 0; i < buf.length && out.length < n; i++) {
      const b = buf[i]!;
      if (b < 248) out += BASE62[b % 62];
    }
  }
  return out;
}

export type GeneratedKey = { key: string; publicId: string; hash: string };

export function generateApiKey(prefix: string): GeneratedKey {
  const publicId = randomBase62(PUBLIC_ID_LENGTH);
  const key = `${prefix}${publicId}_${randomBase62(SECRET_LENGTH)}`;
  return { key, publicId, hash: hashKey(key) };
}

export function hashKey(key: string): string {
  return Bun.CryptoHasher.hash("sha256", key, "hex");
}

/** The same SHA-256 as raw bytes: what authentication compares, so no hex string is made per request. */
export function hashKeyBytes(key: string): Uint8Array {
  return Bun.SHA256.hash(key) as Uint8Array; // the one-shot SHA-256: half the cost of CryptoHasher.hash("sha256")
}

/** Constant-time comparison of two digests. */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function hashesEqual(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Builds a strict matcher for whole keys with this prefix; no database is touched to reject a malformed value. */
export function keyPattern(prefix: string): RegExp {
  const p = prefix.replace(/[-]/g, "\\-");
  return new RegExp(`^${p}([0-9A-Za-z]{${PUBLIC_ID_LENGTH}})_[0-9A-Za-z]{${SECRET_LENGTH}}$`);
}

/** The part of a key that may be shown and logged: prefix and public id. */
export function publicPrefix(prefix: string, publicId: string): string {
  return `${prefix}${publicId}`;
}
