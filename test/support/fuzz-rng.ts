/**
 * A small seeded PRNG (mulberry32) for the fuzz test. Each case gets its own generator derived from
 * (seed, index), so a case does not depend on how many draws the cases before it made, and a failing
 * run replays from FUZZ_SEED whatever the concurrency did to the order of requests.
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }

  /** Picks by weight from [weight, value] pairs. */
  weighted<T>(xs: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of xs) total += w;
    let x = this.next() * total;
    for (const [w, v] of xs) if ((x -= w) < 0) return v;
    return xs[xs.length - 1]![1];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }

  /** `n` characters drawn from `alphabet`. */
  chars(n: number, alphabet: string): string {
    let out = "";
    for (let i = 0; i < n; i++) out += alphabet[Math.floor(this.next() * alphabet.length)];
    return out;
  }
}

/** The generator for case `index` of a run seeded with `seed` (a murmur3-style mix of the two). */
export function caseRng(seed: number, index: number): Rng {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return new Rng((h ^ (h >>> 16)) >>> 0);
}

/** FUZZ_SEED when set (decimal or 0x-hex), else a fresh random seed. */
export function fuzzSeed(env: string | undefined): number {
  if (env !== undefined && env.trim() !== "") {
    const n = Number(env.trim());
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`FUZZ_SEED must be an integer in [0, 2^32), not '${env}'`);
    return n;
  }
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

export const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const PRINTABLE = ALNUM + " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
