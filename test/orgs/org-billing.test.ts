import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { relayWithMocks } from "../support/relay-fixture";
import { dbQuery, ledgerViolations } from "../support/limits-helpers";

/**
 * Org money: one shared balance that concurrent members' keys can never overdraw, member caps on top of
 * the org's, and personal and org accounts that never charge each other.
 */
let f: Awaited<ReturnType<typeof relayWithMocks>>;
beforeAll(async () => {
  f = await relayWithMocks(1, { RELAY_BREAKER_THRESHOLD: "1000000" });
  await f.channel(f.mocks[0]!);
  await f.h.admin.prices.set("gpt-test", { inputPerMTok: 0, outputPerMTok: 1_000_000 }); // a credit per output token
});
afterAll(() => f.close());

const chat = (key: string, max = 10) =>
  fetch(`${f.h.url}/v1/chat/completions`, {
    method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-mock-behavior": JSON.stringify({ behavior: "slow", delayMs: 30, completionTokens: max }) },
    body: JSON.stringify({ model: "gpt-test", max_tokens: max, messages: [{ role: "user", content: "hi" }] }),
  });

async function orgWithMembers(name: string, credits: number, members: string[], opts: Record<string, unknown> = {}) {
  for (const m of members) await f.h.admin.users.create({ name: `${name}-${m}`, credits: 1000 });
  const org = await f.h.admin.orgs.create({ name, credits, concurrency: 1000, owner: `${name}-${members[0]}`, ...opts });
  const keys: string[] = [];
  for (const m of members) {
    if (m !== members[0]) await f.h.admin.orgs.addMember(name, { user: `${name}-${m}`, role: "member" });
    keys.push((await f.h.admin.keys.create({ org: name, member: `${name}-${m}`, label: m })).key);
  }
  return { org, keys };
}

describe("an org's shared balance", () => {
  test("fits exactly N requests: of 10×N concurrent ones from several members' keys, exactly N succeed", async () => {
    const N = 6;
    const { org, keys } = await orgWithMembers("race", N * 10, ["a", "b", "c"]);
    const results = await Promise.all(Array.from({ length: 10 * N }, (_, i) => chat(keys[i % keys.length]!).then(async (r) => ({ status: r.status, code: r.ok ? null : ((await r.json()) as any).error.code }))));
    const ok = results.filter((r) => r.status === 200).length;
    expect(ok).toBe(N);
    expect(new Set(results.filter((r) => r.status !== 200).map((r) => r.code))).toEqual(new Set(["quota_exceeded"]));
    expect(await dbQuery(f.h, "SELECT credits FROM accounts WHERE id = ?", [org.id])).toEqual([{ credits: 0 }]);
    expect(await dbQuery(f.h, "SELECT coalesce(sum(amount), 0) AS s FROM ledger WHERE account_id = ?", [org.id])).toEqual([{ s: 0 }]);
    expect(await ledgerViolations(f.h)).toEqual([]);
  });

  test("personal and org accounts never charge each other", async () => {
    const { org, keys } = await orgWithMembers("sep", 100, ["x"]);
    const personal = (await f.h.admin.keys.create({ user: "sep-x", label: "mine" })).key;
    expect((await chat(keys[0]!, 7)).status).toBe(200);
    expect((await chat(personal, 5)).status).toBe(200);
    expect((await f.h.admin.orgs.get("sep")).balance).toBe(93);
    expect((await f.h.admin.users.get("sep-x")).balance).toBe(995);
    // An org out of credits does not reach into its members' own balances, and the reverse.
    await f.h.admin.orgs.grant("sep", { amount: -93 });
    expect((await chat(keys[0]!, 7)).status).toBe(402);
    expect((await chat(personal, 5)).status).toBe(200);
    await f.h.admin.credits.grant("sep-x", { amount: -990 });
    expect((await chat(personal, 5)).status).toBe(402);
    await f.h.admin.orgs.grant("sep", { amount: 50 });
    expect((await chat(keys[0]!, 7)).status).toBe(200);
    void org;
  });

  test("usage rows record the account, the org, the member and the key's label; a service key has no user", async () => {
    const { org, keys } = await orgWithMembers("rows", 1000, ["m"]);
    const svc = (await f.h.admin.keys.create({ org: "rows", service: true, label: "pipeline" })).key;
    await chat(keys[0]!, 3);
    await chat(svc, 3);
    const rows = (await f.h.admin.usage({ org: "rows", limit: 10 })).data;
    const users = (await f.h.admin.users.list()).data;
    expect(rows.map((r) => ({ accountId: r.accountId, orgId: r.orgId, userId: r.userId, keyLabel: r.keyLabel })).reverse()).toEqual([
      { accountId: org.id, orgId: org.id, userId: users.find((u) => u.name === "rows-m")!.id, keyLabel: "m" },
      { accountId: org.id, orgId: org.id, userId: null, keyLabel: "pipeline" },
    ]);
  });
});

describe("a member's caps in the org", () => {
  test("monthly spend: the member's keys stop at their cap while the org still has credits", async () => {
    await f.h.admin.users.create({ name: "capped-owner" });
    await f.h.admin.users.create({ name: "capped" });
    await f.h.admin.orgs.create({ name: "caps", credits: 1000, owner: "capped-owner" });
    await f.h.admin.orgs.addMember("caps", { user: "capped", role: "member", monthlySpend: 25 });
    const key = (await f.h.admin.keys.create({ org: "caps", member: "capped", label: "k" })).key;
    expect((await chat(key, 10)).status).toBe(200);
    expect((await chat(key, 10)).status).toBe(200);
    const third = await chat(key, 10);
    expect(third.status).toBe(402);
    const refused = ((await third.json()) as any).error;
    expect(refused.code).toBe("member_spend_limit_exceeded");
    // The message says who can help: more credits would not.
    expect(refused.message).toContain("ask an owner or admin of the organization to raise your monthly spend cap");
    expect(refused.message).not.toContain("add credits");
    expect((await chat(key, 5)).status).toBe(200); // 5 still fits under 25
    const ownerKey = (await f.h.admin.keys.create({ org: "caps", member: "capped-owner", label: "o" })).key;
    expect((await chat(ownerKey, 10)).status).toBe(200); // the org itself is far from empty
  });

  test("concurrency: a member's cap applies across their keys, beside the org's", async () => {
    await f.h.admin.users.create({ name: "cc-owner" });
    await f.h.admin.users.create({ name: "cc" });
    await f.h.admin.orgs.create({ name: "cc-org", credits: 1000, owner: "cc-owner", concurrency: 10 });
    await f.h.admin.orgs.addMember("cc-org", { user: "cc", role: "member", concurrency: 1 });
    const k1 = (await f.h.admin.keys.create({ org: "cc-org", member: "cc", label: "1" })).key;
    const k2 = (await f.h.admin.keys.create({ org: "cc-org", member: "cc", label: "2" })).key;
    const [a, b] = await Promise.all([chat(k1), chat(k2)]);
    expect([a.status, b.status].sort()).toEqual([200, 429]);
  });

  test("the books balance", async () => {
    expect(await ledgerViolations(f.h)).toEqual([]);
  });
});

describe("the official client on an org key", () => {
  test("chat works and is charged to the org", async () => {
    const { keys } = await orgWithMembers("sdk", 100, ["dev"]);
    const client = new OpenAI({ baseURL: `${f.h.url}/v1`, apiKey: keys[0]!, maxRetries: 0 });
    const c = await client.chat.completions.create({ model: "gpt-test", max_tokens: 4, messages: [{ role: "user", content: "hi" }] });
    expect(c.choices[0]!.message.content).toContain("Hello");
    expect((await f.h.admin.orgs.get("sdk")).balance).toBeLessThan(100);
  });
});
