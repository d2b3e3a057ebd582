import { describe, expect, test } from "bun:test";
import { settle } from "../../server/limits/admission";
import { recordRequest, type RequestRecord } from "../../server/usage/recorder";
import { countText } from "../../server/relay/tokens";
import { userWithKey } from "../support/harness";
import type { MockOptions } from "../support/mock-upstream";
import {
  MODEL, chatBody, creditsOf, dbQuery, ledgerSumOf, ledgerViolations, sendChat, settled, startLimitsRig, type LimitsRig,
} from "../support/limits-helpers";

async function withRig(fn: (rig: LimitsRig) => Promise<void>, env: Record<string, string> = {}, price?: { inputPerMTok: number; outputPerMTok: number } | null) {
  const rig = await startLimitsRig(env, price);
  try {
    await fn(rig);
  } finally {
    await rig.close();
  }
}

/** Checks the database agrees with itself and with the live balance the admin API shows. */
async function expectConsistent(rig: LimitsRig, name: string, userId: number, balance: number) {
  await settled(rig.h.admin, name);
  expect((await rig.h.admin.users.get(name)).balance).toBe(balance);
  expect(await creditsOf(rig.h, userId)).toBe(balance);
  expect(await ledgerSumOf(rig.h, userId)).toBe(balance);
  expect(await ledgerViolations(rig.h)).toEqual([]);
}

describe("a balance under concurrent load", () => {
  test("a balance that fits exactly N requests, hit by 10×N at once: exactly N succeed and it ends exact", () => withRig(async (rig) => {
    // 1 credit per output token and max_tokens 5: each request holds 5 and is charged 5 (the mock answers
    // 5 completion tokens), so the outcome cannot depend on how settlements interleave with admissions.
    const N = 20;
    const { key, user } = await userWithKey(rig.h, "exact", { credits: 5 * N + 4, concurrency: 100_000 });
    const results = await Promise.all(Array.from({ length: 10 * N }, (_, i) =>
      sendChat(rig.h.url, key, chatBody({ max_tokens: 5, stream: i % 2 === 0 }), { mock: { behavior: "slow", delayMs: i % 30 } })
        .then(async (res) => ({ status: res.status, text: await res.text() }))));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    expect(ok.length).toBe(N);
    expect(refused.every((r) => r.status === 402 && JSON.parse(r.text).error.code === "quota_exceeded")).toBe(true);
    expect(rig.mock.requests.length).toBe(N); // the refused never reached the upstream
    await expectConsistent(rig, "exact", user.id, 4);
  }), 30_000);

  test("holds larger than charges: no interleaving takes the balance below zero", () => withRig(async (rig) => {
    // Each request holds 10 but is charged 5, so how many fit depends on timing; the balance may not.
    const { key, user } = await userWithKey(rig.h, "race", { credits: 100, concurrency: 100_000 });
    const statuses = await Promise.all(Array.from({ length: 100 }, (_, i) =>
      sendChat(rig.h.url, key, chatBody({ max_tokens: 10 }), { mock: { behavior: "slow", delayMs: i % 20 } }).then((r) => r.status)));
    const ok = statuses.filter((s) => s === 200).length;
    expect(statuses.every((s) => s === 200 || s === 402)).toBe(true);
    expect(ok).toBeGreaterThanOrEqual(10);
    expect(ok).toBeLessThanOrEqual(20);
    await expectConsistent(rig, "race", user.id, 100 - 5 * ok);
  }), 30_000);
});

describe("charging", () => {
  test("the same request settled twice is charged once", () => withRig(async (rig) => {
    const { user } = await userWithKey(rig.h, "twice", { credits: 100 });
    const ctx = rig.h.ctx;
    const hold = await ctx.admission.admit({
      requestId: "req_twice", accountId: user.accountId, concurrency: 3, monthlyTokens: 0, keyId: null, spendLimit: null,
      model: MODEL, promptTokens: 0, clientMaxOutput: 10, producesOutput: true,
    });
    expect(hold.credits).toBe(10);
    const record: RequestRecord = {
      requestId: "req_twice", accountId: user.accountId, orgId: null, userId: user.id, keyId: null, keyLabel: "", keyPrefix: "session", sourceIp: "127.0.0.1", endpoint: "/v1/chat/completions",
      model: MODEL, upstreamModel: MODEL, channelId: rig.channelId, status: 200, errorCode: null, stream: false,
      promptTokens: 3, completionTokens: 7, tokensEstimated: false, ttfbMs: 1, totalMs: 2, errorDetail: null, refused: false, cachedTokens: 0, cacheWriteTokens: 0,
    };
    expect(recordRequest(ctx, hold, record)).toBe(7);
    expect(recordRequest(ctx, hold, record)).toBe(0);
    expect(settle(hold, { input: 3, cacheRead: 0, cacheWrite: 0, output: 7 })).toEqual({ cost: 0, tokens: 0, shortfall: 0 });
    await ctx.writer.flush(); // in cluster mode the balance is PostgreSQL's, committed by the writer
    expect(await ctx.admission.live(user.accountId)).toMatchObject({ balance: 93, held: 0, inFlight: 0, monthTokens: 10 });
    expect(await dbQuery(rig.h, "SELECT kind, amount, balance_after FROM ledger WHERE ref = ?", ["req_twice"])).toEqual([{ kind: "charge", amount: -7, balance_after: 93 }]);
    expect(await dbQuery(rig.h, "SELECT count(*) AS n FROM usage_log WHERE request_id = ?", ["req_twice"])).toEqual([{ n: 1 }]);
    expect(await creditsOf(rig.h, user.id)).toBe(93);
    expect(await ledgerViolations(rig.h)).toEqual([]);
  }));

  test("cost 0 at balance 0 is allowed; a priced model at balance 0 is not, and never reaches the upstream", () => withRig(async (rig) => {
    const { key, user } = await userWithKey(rig.h, "zero", { credits: 0 });
    const res = await sendChat(rig.h.url, key, chatBody());
    expect(res.status).toBe(200);
    expect(rig.mock.requests[0]!.body.max_tokens).toBeUndefined(); // nothing to pay for: no maximum imposed
    await expectConsistent(rig, "zero", user.id, 0);

    await rig.h.admin.prices.set(MODEL, { inputPerMTok: 1, outputPerMTok: 1 });
    const refused = await sendChat(rig.h.url, key, chatBody({ max_tokens: 5 }));
    expect(refused.status).toBe(402);
    expect((await refused.json() as any).error.code).toBe("quota_exceeded");
    expect(rig.mock.requests.length).toBe(1);
  }, {}, null));

  test("a stream aborted half-way is charged for the tokens delivered, no more", () => withRig(async (rig) => {
    const { key, user } = await userWithKey(rig.h, "half", { credits: 10_000 });
    const chunks = 200;
    const ctrl = new AbortController();
    const res = await sendChat(rig.h.url, key, chatBody({ max_tokens: 1000, stream: true }), { mock: { behavior: "drip", delayMs: 20, chunks }, signal: ctrl.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = "";
    const received = () => [...text.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join("");
    while (!received().includes("tok5 ")) text += new TextDecoder().decode((await reader.read()).value);
    const got = received();
    ctrl.abort();
    await settled(rig.h.admin, "half");

    const row = (await rig.h.admin.usage({ user: "half", limit: 1 })).data[0]!;
    const full = countText(Array.from({ length: chunks }, (_, i) => `tok${i + 1} `).join(""));
    expect(row).toMatchObject({ status: 499, errorCode: "client_closed", tokensEstimated: true });
    expect(row.cost).toBe(row.completionTokens); // prompts are free here: 1 credit per output token
    expect(row.cost).toBeGreaterThanOrEqual(countText(got));
    expect(row.cost).toBeGreaterThan(0);
    expect(row.cost).toBeLessThan(full);
    await expectConsistent(rig, "half", user.id, 10_000 - row.cost);
  }));
});

describe("a failed request that produced no tokens costs nothing", () => {
  // Prompts are priced here too, so a failure billed for its prompt would show.
  const price = { inputPerMTok: 1_000_000, outputPerMTok: 1_000_000 };
  const cases: [string, boolean, MockOptions, number][] = [
    ["500 on every channel", false, { behavior: "status", status: 500 }, 500],
    ["429 on every channel", false, { behavior: "status", status: 429 }, 429],
    ["a non-retryable 400", false, { behavior: "status", status: 400 }, 400],
    ["503 before a stream starts", true, { behavior: "status", status: 503 }, 503],
    ["connection cut before any byte", false, { behavior: "disconnect" }, 502],
    ["no response headers before the timeout", false, { behavior: "hang" }, 504],
  ];
  for (const [name, stream, mock, status] of cases) {
    test(name, () => withRig(async (rig) => {
      await rig.h.admin.channels.create({ name: "c2", group: "official", baseUrl: `${rig.mock.url}/v1`, apiKey: "sk-upstream-2", models: [MODEL] });
      const { key, user } = await userWithKey(rig.h, "fail", { credits: 1000 });
      const res = await sendChat(rig.h.url, key, chatBody({ max_tokens: 50, stream }), { mock });
      expect(res.status).toBe(status);
      await res.arrayBuffer();
      await expectConsistent(rig, "fail", user.id, 1000);
      const row = (await rig.h.admin.usage({ user: "fail", limit: 1 })).data[0]!;
      expect(row.cost).toBe(0);
      expect(await dbQuery(rig.h, "SELECT count(*) AS n FROM ledger WHERE kind = 'charge'")).toEqual([{ n: 0 }]);
    }, { RELAY_FIRST_BYTE_TIMEOUT_MS: "200" }, price));
  }

  /**
   * An upstream that sends its SSE headers and a keep-alive comment (as some providers do while the model
   * warms up), then breaks or goes silent: the stream has started, yet no token was produced.
   */
  for (const [name, end] of [["a stream cut after its headers, before any token", "cut"], ["a stream silent after its headers (idle timeout)", "stall"]] as const) {
    test(name, async () => {
      const upstream = Bun.serve({
        port: 0, hostname: "127.0.0.1", idleTimeout: 0,
        fetch: () => new Response(new ReadableStream({
          async pull(c) {
            c.enqueue(new TextEncoder().encode(": keep-alive\n\n"));
            await Bun.sleep(50);
            if (end === "cut") c.error(undefined);
            else await Bun.sleep(60_000);
          },
        }), { headers: { "content-type": "text/event-stream" } }),
      });
      try {
        await withRig(async (rig) => {
          await rig.h.admin.channels.update(rig.channelId, { baseUrl: `http://127.0.0.1:${upstream.port}/v1` });
          const { key, user } = await userWithKey(rig.h, "nothing", { credits: 1000 });
          const res = await sendChat(rig.h.url, key, chatBody({ max_tokens: 50, stream: true }));
          expect(res.status).toBe(200);
          expect(await res.text()).toContain(end === "cut" ? '"code":"upstream_error"' : '"code":"upstream_timeout"');
          const row = (await rig.h.admin.usage({ user: "nothing", limit: 1 })).data[0]!;
          expect(row).toMatchObject({ status: end === "cut" ? 502 : 504, completionTokens: 0, cost: 0 });
          await expectConsistent(rig, "nothing", user.id, 1000);
        }, { RELAY_STREAM_IDLE_TIMEOUT_MS: "300" }, price);
      } finally {
        await upstream.stop(true);
      }
    });
  }
});
