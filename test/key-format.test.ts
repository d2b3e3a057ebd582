import { describe, expect, test } from "bun:test";
import { digestHex, generateKey, MIN_KEY_BITS, parseKeyFormat, randomBase62, type KeyFormat } from "../server/keys/key-format";

const format = (t: string) => parseKeyFormat(t) as KeyFormat;

describe("key format", () => {
  test("100,000 default keys: no collision, base62 only, exact length, the id in the shown prefix", () => {
    const f = format("sk-app-{id:8}_{base62:48}");
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const { key, prefix, hash } = generateKey(f);
      expect(key.length).toBe(64);
      if (!/^sk-app-[0-9A-Za-z]{8}_[0-9A-Za-z]{48}$/.test(key)) throw new Error(`bad key ${key}`);
      if (prefix !== key.slice(0, 15)) throw new Error(`bad prefix ${prefix} of ${key}`);
      if (i < 100) expect(hash).toBe(digestHex(key));
      seen.add(key);
    }
    expect(seen.size).toBe(100_000);
  });

  test("every listed format: the shape, and the prefix is the literal plus the first eight random characters", () => {
    for (const [t, re, prefixLen] of [
      ["oruel_{hex:48}", /^oruel_[0-9a-f]{48}$/, 14],
      ["vl_{base62:40}", /^vl_[0-9A-Za-z]{40}$/, 11],
      ["sk-{base62:48}", /^sk-[0-9A-Za-z]{48}$/, 11],
      ["sk-ollm-{base62:32}", /^sk-ollm-[0-9A-Za-z]{32}$/, 16],
    ] as const) {
      const { key, prefix } = generateKey(format(t));
      expect({ t, ok: re.test(key) }).toEqual({ t, ok: true });
      expect(prefix).toBe(key.slice(0, prefixLen));
    }
  });

  test("fewer than 128 random bits, an unknown alphabet or odd literals are refused with a reason", () => {
    expect(parseKeyFormat("sk-{hex:31}")).toContain(`at least ${MIN_KEY_BITS}`);
    expect(parseKeyFormat("sk-{base62:21}")).toContain("bits");
    expect(typeof parseKeyFormat("sk-{base62:22}")).toBe("object"); // 22 × log2(62) ≈ 131 bits
    expect(parseKeyFormat("sk-{emoji:40}")).toContain("unknown alphabet");
    expect(parseKeyFormat("sk key-{hex:48}")).toContain("spaces");
    expect(parseKeyFormat("no-random-part")).toContain("bits");
  });

  test("characters are close to uniform (no modulo bias)", () => {
    const counts = new Map<string, number>();
    const s = randomBase62(620_000);
    for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(Math.abs(n - 10_000)).toBeLessThan(600);
  });
});
