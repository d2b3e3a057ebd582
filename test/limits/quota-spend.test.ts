import { describe, expect, setSystemTime, test } from "bun:test";
import { promptBound } from "../../server/relay/tokens";
import { userWithKey } from "../support/harness";
import { chatBody, dbQuery, ledgerViolations, sendChat, settled, startLimitsRig, until, type LimitsRig } from "../support/limits-helpers";

const boundOf = (body: Record<string, unknown>) => promptBound(body, Buffer.byteLength(JSON.stringify(body)));

/** Sends one request; returns its status, error code and whether it reached the upstream. */
async function attempt(rig: LimitsRig, key: string, body: Record<string, unknown>) {
  const before = rig.mock.requests.length;
  const res = await sendChat(rig.h.url, key, body);
  const text = await res.text();
  return { status: res.status, code: res.ok ? null : JSON.parse(text).error.code, reached: rig.mock.requests.length > before };
}

/** Starts `n` requests that hang upstream until `abort()`; resolves once all of them hold. */
async function hanging(rig: LimitsRig, key: string, n: number, body: Record<string, unknown>) {
  const ctrl = new AbortController();
  const before = rig.mock.inFlight;
  const pending = Array.from({ length: n }, () => sendChat(rig.h.url, key, body, { mock: { behavior: "hang" }, signal: ctrl.signal }).catch(() => null));
  await until(() => rig.mock.inFlight === before + n, `${n} hanging requests upstream`);
  return async () => {
    ctrl.abort();
    await Promise.all(pending);
  };
}

describe("monthly token quota", () => {
  // A free model: only the quota limits. Each request holds prompt bound + max_tokens tokens; the mock
  // then reports 10 prompt + 5 completion tokens, which is what the month is charged.
  const body = chatBody({ max_tokens: 10 });
  const hold = boundOf(body) + 10;

  test("429 monthly_quota_exceeded exactly when the hold would not fit; 0 means unlimited", async () => {
    const rig = await startLimitsRig({}, null);
    try {
      const { key } = await userWithKey(rig.h, "q", { monthlyTokens: hold - 1, concurrency: 10 });
      const update = (monthlyTokens: number) => rig.h.admin.users.update("q", { monthlyTokens });
      expect(await attempt(rig, key, body)).toEqual({ status: 429, code: "monthly_quota_exceeded", reached: false });
      await update(hold);
      expect(await attempt(rig, key, body)).toEqual({ status: 200, code: null, reached: true });
      await settled(rig.h.admin, "q");
      expect((await rig.h.admin.users.get("q")).tokensThisMonth).toBe(15);
      expect(await attempt(rig, key, body)).toMatchObject({ status: 429, code: "monthly_quota_exceeded", reached: false });
      await update(15 + hold);
      expect(await attempt(rig, key, body)).toMatchObject({ status: 200, reached: true });
      await update(30 + hold - 1);
      expect(await attempt(rig, key, body)).toMatchObject({ status: 429, code: "monthly_quota_exceeded" });

      // Running requests hold their tokens: with room for exactly two holds, a third is refused.
      await update(30 + 2 * hold);
      const release = await hanging(rig, key, 2, body);
      expect(await attempt(rig, key, body)).toMatchObject({ status: 429, code: "monthly_quota_exceeded", reached: false });
      await release();
      await settled(rig.h.admin, "q");
      expect(await rig.h.admin.users.get("q")).toMatchObject({ tokensThisMonth: 30 }); // aborted before any answer: no tokens

      // Without max_tokens the relay sets what the quota leaves, and refuses when under 16 tokens are left.
      const bare = chatBody();
      await update(30 + boundOf(bare) + 40);
      expect(await attempt(rig, key, bare)).toMatchObject({ status: 200 });
      expect(rig.mock.requests.at(-1)!.body.max_tokens).toBe(40);
      await settled(rig.h.admin, "q");
      await update(45 + boundOf(bare) + 15);
      expect(await attempt(rig, key, bare)).toMatchObject({ status: 429, code: "monthly_quota_exceeded", reached: false });

      await update(0);
      expect(await attempt(rig, key, chatBody({ max_tokens: 1_000_000 }))).toMatchObject({ status: 200 });
      expect(await attempt(rig, key, bare)).toMatchObject({ status: 200 });
      expect(rig.mock.requests.at(-1)!.body.max_tokens).toBeUndefined(); // free and unlimited: nothing to bound
      await settled(rig.h.admin, "q");
      expect((await rig.h.admin.users.get("q")).tokensThisMonth).toBe(75); // usage still counts while unlimited
      expect(await dbQuery(rig.h, "SELECT tokens FROM token_usage")).toEqual([{ tokens: 75 }]);
      expect(await ledgerViolations(rig.h)).toEqual([]);
    } finally {
      await rig.close();
    }
  });
});

describe("monthly token quota across a month boundary", () => {
  test("the quota counts per UTC calendar month: the first request of a new month starts from zero", async () => {
    const body = chatBody({ max_tokens: 10 });
    const rig = await startLimitsRig({}, null);
    try {
      setSystemTime(new Date("2031-01-31T23:59:59.000Z"));
      const { key } = await userWithKey(rig.h, "m", { monthlyTokens: boundOf(body) + 10 });
      expect(await attempt(rig, key, body)).toMatchObject({ status: 200 });
      await settled(rig.h.admin, "m");
      expect(await attempt(rig, key, body)).toMatchObject({ status: 429, code: "monthly_quota_exceeded" });
      setSystemTime(new Date("2031-02-01T00:00:00.000Z"));
      expect((await rig.h.admin.users.get("m")).tokensThisMonth).toBe(0);
      expect(await attempt(rig, key, body)).toMatchObject({ status: 200 });
      await settled(rig.h.admin, "m");
      expect((await rig.h.admin.users.get("m")).tokensThisMonth).toBe(15);
      expect(await dbQuery(rig.h, "SELECT month, tokens FROM token_usage ORDER BY month")).toEqual([{ month: "2031-01", tokens: 15 }, { month: "2031-02", tokens: 15 }]);
    } finally {
      setSystemTime();
      await rig.close();
    }
  });
});

describe("monthly token quota across a month boundary, settlement not yet written", () => {
  test("a request that ends in the new month counts there, even before its usage reaches the database", async () => {
    const body = chatBody({ max_tokens: 10 });
    // A long flush interval keeps the settlement queued while the new month's counter is first read.
    const rig = await startLimitsRig({ RELAY_FLUSH_INTERVAL_MS: "10000" }, null);
    try {
      setSystemTime(new Date("2031-03-31T23:59:59.000Z"));
      const { key } = await userWithKey(rig.h, "edge", { monthlyTokens: 15 + boundOf(body) + 10, concurrency: 5 });
      const slow = sendChat(rig.h.url, key, body, { mock: { behavior: "slow", delayMs: 200 } });
      await until(() => rig.mock.inFlight === 1, "request upstream");
      setSystemTime(new Date("2031-04-01T00:00:00.000Z"));
      expect((await slow).status).toBe(200);
      await settled(rig.h.admin, "edge");
      expect((await rig.h.admin.users.get("edge")).tokensThisMonth).toBe(15);
      // 15 used in April: exactly one more hold fits, then the quota is spent.
      expect(await attempt(rig, key, body)).toMatchObject({ status: 200 });
      expect(await attempt(rig, key, body)).toMatchObject({ status: 429, code: "monthly_quota_exceeded" });
    } finally {
      setSystemTime();
      await rig.close();
    }
  });
});

describe("per-key spend limit", () => {
  // 1 credit per output token and max_tokens 10: each request holds 10 credits against the key and is charged 5.
  const body = chatBody({ max_tokens: 10 });

  test("402 key_spend_limit_exceeded exactly when the hold would pass the limit; held amounts count", async () => {
    const rig = await startLimitsRig();
    try {
      const { key, keyId } = await userWithKey(rig.h, "s", { credits: 1000, concurrency: 10 }, { spendLimit: 9 });
      const limit = (spendLimit: number | null) => rig.h.admin.keys.update(keyId, { spendLimit });
      expect(await attempt(rig, key, body)).toEqual({ status: 402, code: "key_spend_limit_exceeded", reached: false });
      await limit(10);
      expect(await attempt(rig, key, body)).toEqual({ status: 200, code: null, reached: true });
      expect(await attempt(rig, key, body)).toMatchObject({ status: 402, code: "key_spend_limit_exceeded", reached: false });
      await limit(15);
      expect(await attempt(rig, key, body)).toMatchObject({ status: 200 });
      expect(await attempt(rig, key, body)).toMatchObject({ status: 402, code: "key_spend_limit_exceeded" });

      // Another key of the same user has its own limit (none).
      const other = await rig.h.admin.keys.create({ user: "s", label: "other" });
      expect(await attempt(rig, other.key, body)).toMatchObject({ status: 200 });

      await limit(10 + 20);
      const release = await hanging(rig, key, 2, body);
      expect(await attempt(rig, key, body)).toMatchObject({ status: 402, code: "key_spend_limit_exceeded", reached: false });
      await release();
      await settled(rig.h.admin, "s");

      await limit(0);
      expect(await attempt(rig, key, body)).toMatchObject({ status: 402, code: "key_spend_limit_exceeded" });
      await limit(null);
      expect(await attempt(rig, key, body)).toMatchObject({ status: 200 });
      await settled(rig.h.admin, "s");

      expect(await dbQuery(rig.h, "SELECT spent FROM api_keys WHERE id = ?", [keyId])).toEqual([{ spent: 15 }]);
      expect((await rig.h.admin.keys.get(keyId)).spent).toBe(15);
      expect((await rig.h.admin.users.get("s")).balance).toBe(1000 - 20);
      expect(await ledgerViolations(rig.h)).toEqual([]);
    } finally {
      await rig.close();
    }
  });
});
