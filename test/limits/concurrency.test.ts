import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { userWithKey } from "../support/harness";
import type { MockOptions } from "../support/mock-upstream";
import { chatBody, dbQuery, ledgerViolations, sendChat, settled, startLimitsRig, until, type LimitsRig } from "../support/limits-helpers";

describe("concurrency cap under load", () => {
  test("1,000 concurrent requests from one user: never more than the cap upstream, the rest 429 at once", async () => {
    const rig = await startLimitsRig();
    try {
      const cap = 3;
      const { key } = await userWithKey(rig.h, "burst", { credits: 1_000_000, concurrency: cap });
      const responses = await Promise.all(Array.from({ length: 1000 }, (_, i) =>
        sendChat(rig.h.url, key, chatBody({ max_tokens: 5 }), { mock: { behavior: "slow", delayMs: 50 + (i % 51) } })
          .then(async (res) => ({ status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.json() as any }))));

      const ok = responses.filter((r) => r.status === 200);
      const rejected = responses.filter((r) => r.status !== 200);
      expect(rejected.every((r) => r.status === 429 && r.body.error.code === "concurrency_limit_exceeded")).toBe(true);
      expect(rejected.every((r) => r.retryAfter !== null && Number(r.retryAfter) > 0)).toBe(true);
      expect(ok.length).toBeGreaterThanOrEqual(cap);
      expect(rejected.length).toBeGreaterThan(0);
      expect(rig.mock.maxInFlight).toBeGreaterThan(0);
      expect(rig.mock.maxInFlight).toBeLessThanOrEqual(cap);
      // The upstream never saw a rejected request, and rejected requests touched no credits.
      expect(rig.mock.requests.length).toBe(ok.length);
      await settled(rig.h.admin, "burst");
      const u = await rig.h.admin.users.get("burst");
      expect(u.balance).toBe(1_000_000 - 5 * ok.length);
      expect(await dbQuery(rig.h, "SELECT count(*) AS n FROM ledger WHERE kind = 'charge'")).toEqual([{ n: ok.length }]);
      expect(await ledgerViolations(rig.h)).toEqual([]);
    } finally {
      await rig.close();
    }
  }, 30_000);

  test("sustained contention: clients retrying on 429 all get through, never more than the cap at once", async () => {
    const rig = await startLimitsRig();
    try {
      const cap = 10;
      const { key } = await userWithKey(rig.h, "retry", { credits: 1_000_000, concurrency: cap });
      let rejections = 0;
      const one = async (i: number): Promise<number> => {
        for (;;) {
          const res = await sendChat(rig.h.url, key, chatBody({ max_tokens: 5 }), { mock: { behavior: "slow", delayMs: 20 + (i % 21) } });
          if (res.status !== 429) return res.status;
          expect((await res.json() as any).error.code).toBe("concurrency_limit_exceeded");
          rejections++;
          await Bun.sleep(5 + (i % 11));
        }
      };
      const statuses = await Promise.all(Array.from({ length: 300 }, (_, i) => one(i)));
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(rejections).toBeGreaterThan(0);
      expect(rig.mock.requests.length).toBe(300);
      expect(rig.mock.maxInFlight).toBeLessThanOrEqual(cap);
      await settled(rig.h.admin, "retry");
      expect((await rig.h.admin.users.get("retry")).balance).toBe(1_000_000 - 5 * 300);
    } finally {
      await rig.close();
    }
  }, 30_000);

  test("the cap counts across all of a user's keys, and a raised cap applies at once", async () => {
    const rig = await startLimitsRig();
    try {
      const a = await userWithKey(rig.h, "multi", { credits: 1000, concurrency: 2 });
      const b = await rig.h.admin.keys.create({ user: "multi", label: "second" });
      const hang = new AbortController();
      const pending = [a.key, b.key].map((k) => sendChat(rig.h.url, k, chatBody({ max_tokens: 5 }), { mock: { behavior: "hang" }, signal: hang.signal }).catch(() => null));
      await until(() => rig.mock.inFlight === 2, "two requests upstream");
      const third = await sendChat(rig.h.url, b.key as string, chatBody({ max_tokens: 5 }));
      expect(third.status).toBe(429);
      expect((await third.json() as any).error.code).toBe("concurrency_limit_exceeded");
      await rig.h.admin.users.update("multi", { concurrency: 3 });
      expect((await sendChat(rig.h.url, b.key as string, chatBody({ max_tokens: 5 }))).status).toBe(200);
      hang.abort();
      await Promise.all(pending);
      await settled(rig.h.admin, "multi");
    } finally {
      await rig.close();
    }
  });
});

/**
 * Every way a request can end must give its slot and its hold back. Each case runs for a user with a
 * cap of 1, checks the slot is taken while the request runs, then that it comes back and that the
 * single slot serves the next request.
 */
describe("the slot and the hold are released however a request ends", () => {
  let rig: LimitsRig;
  let n = 0;
  beforeAll(async () => {
    rig = await startLimitsRig({ RELAY_FIRST_BYTE_TIMEOUT_MS: "300", RELAY_STREAM_IDLE_TIMEOUT_MS: "300" });
  });
  afterAll(() => rig.close());

  /** Runs `drive` for a fresh cap-1 user and checks the slot and hold before and after. */
  async function releases(drive: (key: string, name: string) => Promise<void>) {
    const name = `u${++n}`;
    const { key } = await userWithKey(rig.h, name, { credits: 10_000, concurrency: 1 });
    await drive(key, name);
    await settled(rig.h.admin, name);
    const next = await sendChat(rig.h.url, key, chatBody({ max_tokens: 5 }));
    expect(next.status).toBe(200);
    await settled(rig.h.admin, name);
  }

  /** Waits until the request holds its slot and its worst-case credits (max_tokens 50 → 50 credits). */
  async function holding(name: string) {
    await until(async () => (await rig.h.admin.users.get(name)).inFlight === 1, `${name} in flight`);
    expect(await rig.h.admin.users.get(name)).toMatchObject({ inFlight: 1, heldCredits: 50 });
  }

  const body = (stream: boolean) => chatBody({ max_tokens: 50, stream });

  test("normal end, non-stream and stream", () => releases(async (key) => {
    expect((await sendChat(rig.h.url, key, body(false))).status).toBe(200);
    const res = await sendChat(rig.h.url, key, body(true));
    expect(await res.text()).toContain("[DONE]");
  }));

  test("client abort of a stream", () => releases(async (key, name) => {
    const ctrl = new AbortController();
    const res = await sendChat(rig.h.url, key, body(true), { mock: { behavior: "drip", delayMs: 100, chunks: 100 }, signal: ctrl.signal });
    const reader = res.body!.getReader();
    await reader.read();
    await holding(name);
    ctrl.abort();
  }));

  test("client abort of a hanging non-stream request", () => releases(async (key, name) => {
    const ctrl = new AbortController();
    const pending = sendChat(rig.h.url, key, body(false), { mock: { behavior: "hang" }, signal: ctrl.signal }).catch(() => null);
    await holding(name);
    ctrl.abort();
    await pending;
  }));

  const failures: [string, boolean, MockOptions, number][] = [
    ["upstream 500, non-stream", false, { behavior: "status", status: 500 }, 500],
    ["upstream 503 before a stream starts", true, { behavior: "status", status: 503 }, 503],
    ["upstream disconnect before any byte", false, { behavior: "disconnect" }, 502],
    ["first-byte timeout", false, { behavior: "hang" }, 504],
    ["non-stream body stalls (idle timeout)", false, { behavior: "drip", delayMs: 5000, chunks: 3 }, 504],
  ];
  for (const [name, stream, mock, status] of failures) {
    test(name, () => releases(async (key) => {
      expect((await sendChat(rig.h.url, key, body(stream), { mock })).status).toBe(status);
    }));
  }

  test("upstream disconnect mid-stream", () => releases(async (key) => {
    const res = await sendChat(rig.h.url, key, body(true), { mock: { behavior: "disconnect", chunks: 3 } });
    const text = await res.text();
    expect(text).toContain("tok3");
    expect(text).toContain('"code":"upstream_error"');
  }));

  test("stream idle timeout", () => releases(async (key) => {
    const res = await sendChat(rig.h.url, key, body(true), { mock: { behavior: "drip", delayMs: 5000, chunks: 3 } });
    expect(await res.text()).toContain('"code":"upstream_timeout"');
  }));
});
