/**
 * The SlotLimiter implementations against a real Redis (test/support/services.ts): RedisSlotLimiter's
 * atomicity across two connections ("instances"), its rate windows decided exactly as the in-process
 * RateLimiter decides them, leases, NOSCRIPT recovery and fault behaviour; LocalSlotLimiter's shares;
 * FailoverSlotLimiter across a real stop and start of Redis.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { ApiError } from "../../server/errors";
import { FailoverSlotLimiter } from "../../server/limits/failover-slots";
import { LocalSlotLimiter } from "../../server/limits/local-slots";
import { RateLimiter, type RateLimit } from "../../server/limits/rate-limits";
import { LuaScript, RedisUnavailableError } from "../../server/limits/redis-script";
import { checkEvictionPolicy, RedisSlotLimiter, SLOT_REDIS_OPTIONS } from "../../server/limits/redis-slots";
import { TAKE, TAKE_SLOTS } from "../../server/limits/redis-slots-lua";
import type { SlotCap, SlotDecision, SlotRequest } from "../../server/limits/slots";
import { keyPrefix, redisUrl, startRedis, stopRedis } from "../support/services";

const T = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const clients: RedisClient[] = [];
afterAll(() => clients.forEach((c) => c.close()));

async function client(url = redisUrl()): Promise<RedisClient> {
  const c = new RedisClient(url, SLOT_REDIS_OPTIONS);
  clients.push(c);
  await c.connect();
  return c;
}

/** A limiter and a raw client on a fresh prefix (ids inside can then be plain). */
async function rig(leaseTtlMs = 30_000) {
  const prefix = keyPrefix("slots");
  const raw = await client();
  const lim = new RedisSlotLimiter(await client(), { prefix, leaseTtlMs });
  const card = async (key: string) => Number(await raw.send("ZCARD", [prefix + key]));
  const scores = async (key: string) => ((await raw.send("ZRANGE", [prefix + key, "0", "-1", "WITHSCORES"])) as [string, number][]).map(([, s]) => Number(s));
  return { prefix, raw, lim, card, scores };
}

const req = (requestId: string, slots: SlotCap[], rates: RateLimit[] = []): SlotRequest => ({ requestId, slots, rates });
const slot = (id: string, cap: number): SlotCap => ({ id, cap, scope: id.startsWith("member") ? "member" : "account" });
const rpm = (id: string, limit: number): RateLimit => ({ id, kind: "requests", limit, cost: 1, scope: "key" });
const tpm = (id: string, limit: number, cost: number): RateLimit => ({ id, kind: "tokens", limit, cost, scope: "key" });
const oks = (ds: SlotDecision[]) => ds.filter((d) => d.ok).length;

describe("RedisSlotLimiter", () => {
  test("caps are exact under 200 concurrent takes from two instances; refused takes write nothing", async () => {
    const { prefix, lim: a, card } = await rig();
    const b = new RedisSlotLimiter(await client(), { prefix, leaseTtlMs: 30_000 });
    const reqs = Array.from({ length: 200 }, (_, i) => req(`r${i}`, [slot("account:1", 10), slot(`member:1:${i % 5}`, 3)]));
    for (let round = 0; round < 2; round++) {
      const ds = await Promise.all(reqs.map((r, i) => (i % 2 ? a : b).take(r)));
      expect(oks(ds)).toBe(10);
      const held = reqs.filter((_, i) => ds[i]!.ok);
      for (let m = 0; m < 5; m++) expect(held.filter((r) => r.slots[1]!.id === `member:1:${m}`).length).toBeLessThanOrEqual(3);
      for (const d of ds) if (!d.ok) expect(d.kind).toBe("concurrency");
      expect(await card("slot:account:1")).toBe(10);
      let members = 0;
      for (let m = 0; m < 5; m++) members += await card(`slot:member:1:${m}`);
      expect(members).toBe(10);
      // Released by the other instance than the one that took them: the store is shared.
      await Promise.all(held.map((r, i) => (i % 2 ? b : a).release(r, 0)));
      expect(await card("slot:account:1")).toBe(0);
    }
  }, T);

  test("rpm is exact across instances; a refusal names the limit and counts nothing", async () => {
    const { prefix, lim: a, card } = await rig();
    const b = new RedisSlotLimiter(await client(), { prefix, leaseTtlMs: 30_000 });
    const ds = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).take(req(`q${i}`, [], [rpm("key:1:rpm", 7)]))));
    expect(oks(ds)).toBe(7);
    expect(ds.flatMap((d) => (d.ok ? [d.states[0]!.remaining] : [])).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const d of ds) {
      if (d.ok) expect(d.states).toEqual([{ kind: "requests", limit: 7, remaining: expect.any(Number), resetMs: 60_000 }]);
      else expect(d).toMatchObject({ kind: "rate", refused: { id: "key:1:rpm" }, states: [{ remaining: 0 }] });
    }
    expect(await card("rate:key:1:rpm")).toBe(7);
  }, T);

  test("tpm and retryAfter decide exactly as the in-process RateLimiter at the same instant", async () => {
    const { lim, scores } = await rig();
    const L = 1000;
    const taken: number[] = [];
    for (const [i, cost] of [300, 300, 300].entries()) {
      const d = await lim.take(req(`t${i}`, [], [tpm("key:1:tpm", L, cost)]));
      expect(d).toEqual({ ok: true, states: [{ kind: "tokens", limit: L, remaining: L - 300 * (i + 1), resetMs: 60_000 }] });
      taken.push(cost);
      await sleep(15); // distinct admission times, so the answer shows which entry must age out
    }
    const at = await scores("rate:key:1:tpm");
    // 700 more needs 600 to age out: the second entry's time + 60 s, not the first's.
    for (const cost of [700, 200, 1001]) {
      const d = await lim.take(req(`x${cost}`, [], [tpm("key:1:tpm", L, cost)]));
      if (d.ok || d.kind !== "rate") throw new Error(`expected a rate refusal, got ${JSON.stringify(d)}`);
      const now = at[2]! + 60_000 - d.states[0]!.resetMs; // the instant Redis decided at
      const local = new RateLimiter();
      at.forEach((t, i) => local.take([tpm("key:1:tpm", L, taken[i]!)], t));
      const expected = local.take([tpm("key:1:tpm", L, cost)], now);
      expect(expected.ok).toBe(false);
      if (expected.ok) continue;
      expect({ retryAfterMs: d.retryAfterMs, states: d.states }).toEqual({ retryAfterMs: expected.retryAfterMs, states: expected.states });
    }
    const big = await lim.take(req("big", [], [tpm("key:1:tpm", L, 1001)]));
    expect(big).toMatchObject({ ok: false, retryAfterMs: Infinity });
    // Refusals counted nothing: exactly the 100 left still fit, then nothing.
    expect(await lim.take(req("fill", [], [tpm("key:1:tpm", L, 100)]))).toMatchObject({ ok: true, states: [{ remaining: 0 }] });
    expect((await lim.take(req("one", [], [tpm("key:1:tpm", L, 1)]))).ok).toBe(false);
  }, T);

  test("entries 60 s old age out of the window and out of its cached sum", async () => {
    const { prefix, raw, lim, scores } = await rig();
    const [sec] = (await raw.send("TIME", [])) as [string, string];
    const t = Number(sec) * 1000;
    await raw.send("ZADD", [`${prefix}rate:key:1:tpm`, String(t - 70_000), "old|500", String(t - 30_000), "mid|300"]);
    await raw.send("SET", [`${prefix}rate-sum:key:1:tpm`, "800"]);
    expect(await lim.take(req("a", [], [tpm("key:1:tpm", 1000, 600)]))).toMatchObject({ ok: true, states: [{ remaining: 100, resetMs: 60_000 }] });
    expect(await raw.send("GET", [`${prefix}rate-sum:key:1:tpm`])).toBe("900");
    const at = await scores("rate:key:1:tpm");
    expect(at).toHaveLength(2);
    const d = await lim.take(req("b", [], [tpm("key:1:tpm", 1000, 200)]));
    if (d.ok || d.kind !== "rate") throw new Error(`expected a rate refusal, got ${JSON.stringify(d)}`);
    const local = new RateLimiter();
    local.take([tpm("key:1:tpm", 1000, 300)], at[0]!);
    local.take([tpm("key:1:tpm", 1000, 600)], at[1]!);
    const expected = local.take([tpm("key:1:tpm", 1000, 200)], at[1]! + 60_000 - d.states[0]!.resetMs);
    expect(expected).toMatchObject({ ok: false, retryAfterMs: d.retryAfterMs, states: d.states });
    expect(d.retryAfterMs).toBe(at[0]! + 60_000 - (at[1]! + 60_000 - d.states[0]!.resetMs));
  }, T);

  test("concurrency is checked before rates; a rate refusal takes no slot and no other window", async () => {
    const { lim, card } = await rig();
    const r = (id: string, cost: number) => req(id, [slot("account:1", 1)], [rpm("key:1:rpm", 10), tpm("key:1:tpm", 100, cost)]);
    const refused = await lim.take(r("big", 150));
    expect(refused).toMatchObject({ ok: false, kind: "rate", refused: { id: "key:1:tpm" }, retryAfterMs: Infinity });
    expect([await card("slot:account:1"), await card("rate:key:1:rpm")]).toEqual([0, 0]);
    expect(await lim.take(r("a", 100))).toMatchObject({ ok: true, states: [{ remaining: 9 }, { remaining: 0 }] });
    expect(await lim.take(r("b", 100))).toMatchObject({ ok: false, kind: "concurrency", slot: { id: "account:1" } });
    expect(await card("rate:key:1:rpm")).toBe(1);
  }, T);

  test("release frees slots and corrects token entries to the actual use, once", async () => {
    const { raw, prefix, lim } = await rig();
    const a = req("a", [slot("account:1", 1)], [rpm("key:1:rpm", 100), tpm("key:1:tpm", 1000, 800)]);
    expect((await lim.take(a)).ok).toBe(true);
    expect((await lim.take(req("b", [slot("account:1", 1)]))).ok).toBe(false);
    await lim.release(a, 100);
    await lim.release(a, 100);
    expect(await lim.take(req("c", [slot("account:1", 1)], [tpm("key:1:tpm", 1000, 900)]))).toMatchObject({ ok: true, states: [{ remaining: 0 }] });
    expect((await lim.take(req("d", [], [tpm("key:1:tpm", 1000, 1)]))).ok).toBe(false);
    // The window's cached sum is recounted when lost (a key deleted by hand, say).
    await raw.send("DEL", [`${prefix}rate-sum:key:1:tpm`]);
    expect((await lim.take(req("e", [], [tpm("key:1:tpm", 1000, 1)]))).ok).toBe(false);
    await lim.release(req("c", [], [tpm("key:1:tpm", 1000, 900)]), 899);
    expect(await lim.take(req("f", [], [tpm("key:1:tpm", 1000, 1)]))).toMatchObject({ ok: true, states: [{ remaining: 0 }] });
  }, T);

  test("undo takes back the slots and every rate entry", async () => {
    const { lim } = await rig();
    // Another request's entries stay in the windows, so the sums must really go down (not reset as empty).
    expect((await lim.take(req("other", [], [rpm("key:1:rpm", 2), tpm("key:1:tpm", 150, 50)]))).ok).toBe(true);
    const r = (id: string) => req(id, [slot("account:1", 1), slot("member:1:2", 1)], [rpm("key:1:rpm", 2), tpm("key:1:tpm", 150, 100)]);
    expect((await lim.take(r("a"))).ok).toBe(true);
    expect((await lim.take(r("b"))).ok).toBe(false);
    await lim.undo(r("a"));
    await lim.undo(r("a"));
    expect(await lim.take(r("b"))).toMatchObject({ ok: true, states: [{ remaining: 0 }, { remaining: 0 }] });
  }, T);

  test("a lease that is not renewed expires (a dead requester frees its slot); renew keeps it; idle keys carry TTLs", async () => {
    const { prefix, lim: dead, raw } = await rig(300);
    const other = new RedisSlotLimiter(await client(), { prefix, leaseTtlMs: 300 });
    const cap = slot("account:1", 2);
    expect((await dead.take(req("dead", [cap], [rpm("key:1:rpm", 100)]))).ok).toBe(true);
    const pttl = Number(await raw.send("PTTL", [`${prefix}slot:account:1`]));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1300);
    const rateTtl = Number(await raw.send("PTTL", [`${prefix}rate:key:1:rpm`]));
    expect(rateTtl).toBeGreaterThan(50_000);
    expect(rateTtl).toBeLessThanOrEqual(61_000);

    // A live request renewed every 100 ms (a third of the TTL) keeps the key alive: only the dead
    // lease's own expiry can free the second slot.
    const renewed = [req("live", [cap]), req("gone", [slot("account:9", 1)])];
    expect((await other.take(renewed[0]!)).ok).toBe(true);
    let renewing = true;
    const renewer = (async () => {
      while (renewing) {
        await other.renew(renewed);
        await sleep(100);
      }
    })();
    try {
      expect((await other.take(req("x", [cap]))).ok).toBe(false);
      await until("the dead lease to expire", async () => (await other.take(req("x", [cap]))).ok);
      renewed.push(req("x", [cap]));
      // Renewed leases outlive several TTLs.
      const end = Date.now() + 1200;
      while (Date.now() < end) {
        expect((await dead.take(req("y", [cap]))).ok).toBe(false);
        await sleep(100);
      }
      expect(Number(await raw.send("EXISTS", [`${prefix}slot:account:9`]))).toBe(0); // renew creates nothing
    } finally {
      renewing = false;
      await renewer;
    }
    await until("the lease to expire once renewal stops", async () => (await dead.take(req("y", [cap]))).ok && (await dead.take(req("z", [cap]))).ok);
  }, T);

  test("recovers from NOSCRIPT after SCRIPT FLUSH", async () => {
    const { raw, lim } = await rig();
    // Slot-only takes run TAKE_SLOTS (many per call); takes with rate windows run TAKE.
    const sha = new LuaScript(TAKE_SLOTS).sha;
    expect((await lim.take(req("a", [slot("account:1", 2)]))).ok).toBe(true);
    await raw.send("SCRIPT", ["FLUSH"]);
    expect(await raw.send("SCRIPT", ["EXISTS", sha])).toEqual([0]);
    expect((await lim.take(req("b", [slot("account:1", 2)]))).ok).toBe(true);
    expect(await raw.send("SCRIPT", ["EXISTS", sha])).toEqual([1]);
    expect((await lim.take(req("c", [slot("account:1", 2)]))).ok).toBe(false);
  }, T);

  test("checkEvictionPolicy: only noeviction is safe; CONFIG refused means unknown", async () => {
    const raw = await client();
    expect(await checkEvictionPolicy(raw)).toMatchObject({ policy: "noeviction", safe: true });
    try {
      for (const policy of ["volatile-lru", "allkeys-lru", "volatile-ttl"]) {
        await raw.send("CONFIG", ["SET", "maxmemory-policy", policy]);
        const c = await checkEvictionPolicy(raw);
        expect(c).toMatchObject({ policy, safe: false });
        expect(c.message).toContain("maxmemory-policy noeviction");
      }
    } finally {
      await raw.send("CONFIG", ["SET", "maxmemory-policy", "noeviction"]);
    }
    // A user that may not run CONFIG, as on managed Redis services.
    const user = `slots-noconfig-${Date.now()}`;
    await raw.send("ACL", ["SETUSER", user, "on", ">pw", "~*", "&*", "+@all", "-config"]);
    try {
      const u = new URL(redisUrl());
      u.username = user;
      u.password = "pw";
      const c = await checkEvictionPolicy(await client(u.toString()));
      expect(c).toMatchObject({ policy: "unknown", safe: false });
      expect(c.message).toContain("maxmemory-policy noeviction");
    } finally {
      await raw.send("ACL", ["DELUSER", user]);
    }
  }, T);

  test("unreachable Redis rejects at once with RedisUnavailableError; a hung one after commandTimeoutMs", async () => {
    const port = (() => {
      const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
      const p = s.port;
      s.stop(true);
      return p;
    })();
    const nowhere = new RedisClient(`redis://127.0.0.1:${port}`, SLOT_REDIS_OPTIONS);
    clients.push(nowhere);
    const lim = new RedisSlotLimiter(nowhere, { leaseTtlMs: 30_000 });
    const started = Date.now();
    for (let i = 0; i < 3; i++) await expect(lim.take(req(`n${i}`, [slot("account:1", 1)]))).rejects.toBeInstanceOf(RedisUnavailableError);
    await lim.ping().catch(() => {});
    expect(Date.now() - started).toBeLessThan(1000); // not the client's ~31 s of reconnecting

    // A server that stops answering (SIGSTOP): the take is bounded, and taken back once Redis runs again.
    const { prefix, card } = await rig();
    const hc = await client();
    const hung = new RedisSlotLimiter(hc, { prefix, leaseTtlMs: 30_000, commandTimeoutMs: 200 });
    const pid = (await Bun.file(process.env.RELAY_TEST_REDIS_PIDFILE!).text()).trim();
    process.kill(Number(pid), "SIGSTOP");
    // Resumed by a timer, not after the take: a take that waited for Redis would wait forever.
    const resume = setTimeout(() => process.kill(Number(pid), "SIGCONT"), 2000);
    let error: unknown;
    let checkError: unknown;
    try {
      [error, checkError] = await Promise.all([
        hung.take(req("late", [slot("account:1", 5)], [rpm("key:1:rpm", 5)])).then((d) => d, (e) => e),
        checkEvictionPolicy(hc, 200).then((d) => d, (e) => e),
      ]);
    } finally {
      clearTimeout(resume);
      process.kill(Number(pid), "SIGCONT");
    }
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(String((error as Error).message)).toContain("within 200 ms");
    expect(checkError).toBeInstanceOf(RedisUnavailableError);
    await until("the late take to be undone", async () => (await card("slot:account:1")) === 0 && (await card("rate:key:1:rpm")) === 0);
  }, T);

  test("a client never connected fails fast, is connected in the background, then works", async () => {
    const c = new RedisClient(redisUrl(), SLOT_REDIS_OPTIONS);
    clients.push(c);
    const lim = new RedisSlotLimiter(c, { prefix: keyPrefix("slots"), leaseTtlMs: 30_000 });
    await expect(lim.take(req("a", [slot("account:1", 1)]))).rejects.toBeInstanceOf(RedisUnavailableError);
    await until("the background connect", () => c.connected);
    expect((await lim.take(req("a", [slot("account:1", 1)]))).ok).toBe(true);
  }, T);
});

describe("LocalSlotLimiter", () => {
  test("the whole limits alone; a share divides caps and rate limits (rounded up), read on every take", async () => {
    let share = 2;
    const lim = new LocalSlotLimiter({ share: () => share });
    const cap = slot("account:1", 5);
    const ds = [];
    for (let i = 0; i < 5; i++) ds.push(await lim.take(req(`s${i}`, [cap])));
    expect(oks(ds)).toBe(3);
    expect(ds[3]).toEqual({ ok: false, kind: "concurrency", slot: cap });
    share = 1;
    expect(oks([await lim.take(req("s5", [cap])), await lim.take(req("s6", [cap])), await lim.take(req("s7", [cap]))])).toBe(2);

    share = 4;
    const rates = [];
    for (let i = 0; i < 5; i++) rates.push(await lim.take(req(`q${i}`, [], [rpm("key:1:rpm", 10)])));
    expect(oks(rates)).toBe(3);
    expect(rates[3]).toMatchObject({ ok: false, kind: "rate", refused: { limit: 3 }, states: [{ limit: 3, remaining: 0 }] });
    await expect(new LocalSlotLimiter().take(req("x", [slot("account:1", 5)], [rpm("key:1:rpm", 10)]))).resolves.toMatchObject({ ok: true, states: [{ limit: 10, remaining: 9 }] });
  });

  test("release corrects tokens and frees slots; undo takes everything back; both idempotent", async () => {
    const lim = new LocalSlotLimiter();
    const a = req("a", [slot("account:1", 1)], [rpm("key:1:rpm", 2), tpm("key:1:tpm", 1000, 800)]);
    expect((await lim.take(a)).ok).toBe(true);
    expect((await lim.take(req("b", [slot("account:1", 1)]))).ok).toBe(false);
    await lim.release(a, 100);
    await lim.release(a, 100);
    expect(await lim.take(req("c", [slot("account:1", 1)], [rpm("key:1:rpm", 2), tpm("key:1:tpm", 1000, 900)]))).toMatchObject({ ok: true, states: [{ remaining: 0 }, { remaining: 0 }] });
    await lim.undo(req("c", []));
    await lim.undo(req("c", []));
    expect(await lim.take(req("d", [slot("account:1", 1)], [rpm("key:1:rpm", 2), tpm("key:1:tpm", 1000, 900)]))).toMatchObject({ ok: true, states: [{ remaining: 0 }, { remaining: 0 }] });
  });
});

describe("FailoverSlotLimiter (Redis stopped and started)", () => {
  async function failover(mode: "open" | "closed") {
    const { prefix, lim: redis, card } = await rig();
    const local = new LocalSlotLimiter({ share: () => 2 });
    const changes: boolean[] = [];
    const f = new FailoverSlotLimiter(redis, local, { mode, probe: () => redis.ping(), probeIntervalMs: 100, onChange: (d) => changes.push(d) });
    return { prefix, redis, local, f, changes, card };
  }

  test("open: degraded onto local shares, back to Redis without a restart; each request released where it was taken", async () => {
    const { local, f, changes, card } = await failover("open");
    const cap = slot("account:1", 4);
    const before = req("before", [cap], [rpm("key:1:rpm", 100)]);
    expect((await f.take(before)).ok).toBe(true);
    expect(await card("slot:account:1")).toBe(1);
    expect([f.degraded, f.degradedSince]).toEqual([false, null]);
    await stopRedis();
    let down = true;
    try {
      const l1 = req("l1", [cap]);
      const l2 = req("l2", [cap]);
      expect((await f.take(l1)).ok).toBe(true);
      expect(f.degraded).toBe(true);
      expect(typeof f.degradedSince).toBe("number");
      expect(changes).toEqual([true]);
      expect((await f.take(l2)).ok).toBe(true);
      expect(await f.take(req("l3", [cap]))).toMatchObject({ ok: false, kind: "concurrency" }); // ceil(4 / 2) locally
      await f.release(before, 0); // taken on Redis, which is away: no throw (its lease expires)
      await f.renew([before, l1]);

      await startRedis();
      down = false;
      await until("leaving degraded mode", () => !f.degraded);
      expect(changes).toEqual([true, false]);
      expect(f.degradedSince).toBeNull();
      expect((await f.take(req("after", [cap]))).ok).toBe(true);
      // The test's own client reconnects on its own back-off, which can lag the limiter's by a few hundred ms.
      await until("the test's client reconnected", () => card("slot:account:1").then(() => true, () => false));
      expect(await card("slot:account:1")).toBe(1); // on the (restarted, empty) Redis

      // l1 and l2 were taken locally: released locally, so the local share is free again.
      await f.release(l1, 0);
      await f.release(l2, 0);
      expect(oks([await local.take(req("x1", [cap])), await local.take(req("x2", [cap]))])).toBe(2);
    } finally {
      if (down) await startRedis();
      f.close();
    }
  }, T);

  test("closed: 503 service_unavailable with Retry-After while Redis is away, then normal again", async () => {
    const { f, changes } = await failover("closed");
    const cap = slot("account:1", 4);
    expect((await f.take(req("a", [cap]))).ok).toBe(true);
    await stopRedis();
    let down = true;
    try {
      for (let i = 0; i < 2; i++) {
        const e = await f.take(req(`b${i}`, [cap])).catch((err) => err);
        expect(e).toBeInstanceOf(ApiError);
        expect(e).toMatchObject({ errorCode: "service_unavailable", status: 503, headers: { "retry-after": "2" } });
        expect((e as Error).message).toContain("Redis");
      }
      expect(changes).toEqual([true]);
      await startRedis();
      down = false;
      await until("leaving degraded mode", () => !f.degraded);
      expect((await f.take(req("c", [cap]))).ok).toBe(true);
    } finally {
      if (down) await startRedis();
      f.close();
    }
  }, T);

  test("other errors are bugs: they propagate and do not degrade", async () => {
    const { prefix, raw, lim: redis } = await rig();
    const f = new FailoverSlotLimiter(redis, new LocalSlotLimiter(), { mode: "open", probe: () => redis.ping() });
    await raw.send("SET", [`${prefix}slot:account:1`, "not a zset"]);
    await expect(f.take(req("a", [slot("account:1", 1)]))).rejects.toThrow(/WRONGTYPE/);
    expect(f.degraded).toBe(false);
    f.close();
  }, T);
});
