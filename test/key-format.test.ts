import { describe, expect, test } from "bun:test";
import { generateApiKey, keyPattern, randomBase62 } from "../server/keys/key-format";

describe("key format", () => {
  test("100,000 keys: no collision, base62 only, exact length", () => {
    const seen = new Set<string>();
    const ids = new Set<string>();
    const re = keyPattern("sk-app-");
    for (let i = 0; i < 100_000; i++) {
      const { key, publicId } = generateApiKey("sk-app-");
      expect(key.length).toBe(64);
      if (!re.test(key)) throw new Error(`bad key ${key}`);
      seen.add(key);
      ids.add(publicId);
    }
    expect(seen.size).toBe(100_000);
    expect(ids.size).toBe(100_000);
  });

  test("characters are close to uniform (no modulo bias)", () => {
    const counts = new Map<string, number>();
    const s = randomBase62(620_000);
    for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(Math.abs(n - 10_000)).toBeLessThan(600);
  });
});
