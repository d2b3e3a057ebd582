import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { RateLimiter, WINDOW_MS, rateHeaders, resetText, type RateLimit } from "../../server/limits/rate-limits";
import { expectError } from "../support/expect-error";
import { chat, post, relayWithMocks } from "../support/relay-fixture";

const rpm = (limit: number, id = "k"): RateLimit => ({ id, kind: "requests", limit, cost: 1, scope: "key" });
const tpm = (limit: number, cost: number, id = "t"): RateLimit => ({ id, kind: "tokens", limit, cost, scope: "account" });

describe("the sliding window", () => {
  test("exactly the limit in any 60 s: no burst at a minute's boundary, capacity back as old requests age out", () => {
    const r = new RateLimiter();
    const t0 = 1_000_000;
    for (let i = 0; i < 10; i++) expect(r.take([rpm(10)], t0 + 59_000).ok).toBe(true); // all at the end of a "minute"
    const refused = r.take([rpm(10)], t0 + 61_000); // the next "minute" begins: a fixed window would allow 10 more
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.retryAfterMs).toBe(59_000 + WINDOW_MS - 61_000);
    expect(r.take([rpm(10)], t0 + 59_000 + WINDOW_MS).ok).toBe(true);
  });

  test("a seeded walk: over every 60 s window the admitted cost never passes the limit", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const r = new RateLimiter();
    const admitted: { at: number; cost: number }[] = [];
    let now = 0;
    for (let i = 0; i < 5000; i++) {
      now += Math.floor(rand() * 800);
      const cost = 1 + Math.floor(rand() * 30);
      const d = r.take([tpm(200, cost)], now);
      if (d.ok) admitted.push({ at: now, cost });
    }
    for (const a of admitted) {
      const inWindow = admitted.filter((b) => b.at > a.at - WINDOW_MS && b.at <= a.at).reduce((s, b) => s + b.cost, 0);
      if (inWindow > 200) throw new Error(`window ending ${a.at} holds ${inWindow}`);
    }
    expect(admitted.length).toBeGreaterThan(500);
  });

  test("all limits must pass, and a refusal takes from none", () => {
    const r = new RateLimiter();
    expect(r.take([rpm(5, "a"), rpm(1, "b")], 0).ok).toBe(true);
    expect(r.take([rpm(5, "a"), rpm(1, "b")], 1).ok).toBe(false); // b is full: a is not charged
    const d = r.take([rpm(5, "a")], 2);
    expect(d.ok && d.states[0]!.remaining).toBe(3);
  });

  test("a token hold is corrected to the usage; a cost above the whole limit never passes", () => {
    const r = new RateLimiter();
    const d = r.take([tpm(1000, 900)], 0);
    expect(d.ok).toBe(true);
    expect(r.take([tpm(1000, 200)], 1).ok).toBe(false);
    if (d.ok) r.correct(d.taken[0]!, 100, 2);
    expect(r.take([tpm(1000, 200)], 3).ok).toBe(true);
    const big = r.take([tpm(1000, 5000)], 4);
    expect(big.ok).toBe(false);
    if (!big.ok) expect(big.retryAfterMs).toBe(Infinity);
  });

  test("OpenAI's headers and durations", () => {
    expect(resetText(250)).toBe("250ms");
    expect(resetText(12_000)).toBe("12s");
    expect(resetText(90_000)).toBe("1m30s");
    expect(rateHeaders([{ kind: "requests", limit: 10, remaining: 4, resetMs: 1500 }, { kind: "requests", limit: 100, remaining: 90, resetMs: 10 }]))
      .toEqual({ "x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "4", "x-ratelimit-reset-requests": "2s" });
  });
});

describe("per-minute limits on a real server", () => {
  let f: Awaited<ReturnType<typeof relayWithMocks>>;
  beforeAll(async () => {
    f = await relayWithMocks(1, { RELAY_BREAKER_THRESHOLD: "1000000" });
    await f.channel(f.mocks[0]!);
    await f.h.admin.prices.set("gpt-test", { inputPerMTok: 0, outputPerMTok: 1_000_000 });
  });
  afterAll(() => f.close());

  test("a key's rpm: the limit passes, the next is a 429 with Retry-After and x-ratelimit-* headers", async () => {
    const { key } = await f.userWithKey("rpm", { credits: 10_000, concurrency: 10 }, { rpm: 3 });
    for (let i = 0; i < 3; i++) {
      const res = await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { max_tokens: 5 }));
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ratelimit-limit-requests")).toBe("3");
      expect(res.headers.get("x-ratelimit-remaining-requests")).toBe(String(2 - i));
      expect(res.headers.get("x-ratelimit-reset-requests")).toMatch(/^(\d+m)?\d+(ms|s)$/);
    }
    const res = await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { max_tokens: 5 }));
    const body = await expectError(res, 429, "rate_limit_exceeded");
    expect(body.error.message).toContain("3 requests per minute");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(res.headers.get("x-ratelimit-remaining-requests")).toBe("0");
  });

  test("a request refused for any other reason does not count against the request limit", async () => {
    const { key } = await f.userWithKey("rpm2", { credits: 14 }, { rpm: 2 });
    for (let i = 0; i < 5; i++) await expectError(await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { max_tokens: 500 })), 402, "quota_exceeded");
    for (let i = 0; i < 5; i++) await expectError(await post(f.h, key, "/v1/chat/completions", chat("no-such-model")), 404, "model_not_found");
    expect((await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { max_tokens: 4 }))).status).toBe(200);
    expect((await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { max_tokens: 4 }))).status).toBe(200);
    await expectError(await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { max_tokens: 4 })), 429, "rate_limit_exceeded");
  });

  test("an account's tpm counts the hold, then the actual usage", async () => {
    await f.h.admin.users.create({ name: "tpm", credits: 100_000, tpm: 300 });
    const { key } = await f.h.admin.keys.create({ user: "tpm", label: "k" });
    // Each holds prompt bound + 100 output tokens (well over 100) but uses 10 + 5: after settling, room again.
    for (let i = 0; i < 6; i++) {
      const res = await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { max_tokens: 100 }));
      expect({ i, status: res.status }).toEqual({ i, status: 200 });
      expect(res.headers.get("x-ratelimit-limit-tokens")).toBe("300");
    }
    const tooBig = await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { max_tokens: 5000 }));
    expect((await expectError(tooBig, 429, "rate_limit_exceeded")).error.message).toContain("lower max_tokens");
    expect(tooBig.headers.get("retry-after")).toBeNull(); // waiting would not help
  });

  test("an org member's rpm applies beside the org's", async () => {
    await f.h.admin.users.create({ name: "rm-owner" });
    await f.h.admin.users.create({ name: "rm" });
    await f.h.admin.orgs.create({ name: "rm-org", credits: 10_000, owner: "rm-owner", rpm: 100 });
    await f.h.admin.orgs.addMember("rm-org", { user: "rm", role: "member", rpm: 1 });
    const key = (await f.h.admin.keys.create({ org: "rm-org", member: "rm", label: "k" })).key;
    expect((await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { max_tokens: 4 }))).status).toBe(200);
    const second = await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { max_tokens: 4 }));
    expect((await expectError(second, 429, "rate_limit_exceeded")).error.message).toContain("your membership's");
  });

  test("the Anthropic routes answer in their own envelope", async () => {
    const { key } = await f.userWithKey("rpm-a", { credits: 10_000 }, { rpm: 1 });
    const a = new Anthropic({ baseURL: f.h.url, apiKey: key, maxRetries: 0 });
    await a.messages.create({ model: "gpt-test", max_tokens: 5, messages: [{ role: "user", content: "x" }] });
    const err = await a.messages.create({ model: "gpt-test", max_tokens: 5, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect(err.error.error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
  });
});
