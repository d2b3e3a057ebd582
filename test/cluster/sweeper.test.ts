import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { SQL } from "bun";
import { startRelay, modeEnv, userWithKey, type Harness } from "../support/harness";
import { commitPgSettlements } from "../../server/usage/pg-settlement";
import { pgInvariants } from "../../db/invariants";
import { utcMonth } from "../../server/limits/month";

/**
 * A dead instance's holds: released by another instance's sweeper once its heartbeat is older than the
 * lease, logged as interrupted and charged nothing; a live instance's are left alone; and a settlement
 * that arrives afterwards (the instance was only paused) charges nothing twice.
 */
let h: Harness;
let sql: SQL;
let accountId: number;
let keyId: number;
const T = 30_000;

beforeAll(async () => {
  const mode = await modeEnv("cluster");
  h = await startRelay({ ...mode.env, RELAY_LEASE_TTL_MS: "600" });
  const close = h.close;
  h.close = async () => (await close(), await mode.drop());
  sql = h.ctx.cluster!.sql;
  h.ctx.cluster!.sweeper.stop(); // the test sweeps by hand
  const u = await userWithKey(h, "sweepy", { credits: 1000 });
  accountId = u.user.accountId;
  keyId = u.keyId;
}, T);
afterAll(() => h.close());

const admitted = (requestId: string) => JSON.stringify({
  requestId, accountId, orgId: null, userId: 1, keyId, keyLabel: "sweepy-key", keyPrefix: "sk-app-x", sourceIp: "127.0.0.1",
  endpoint: "/v1/chat/completions", model: "gpt-x", stream: true,
});

async function hold(requestId: string, instance: string, credits: number): Promise<string> {
  const [r] = await sql`SELECT outcome FROM relay_reserve(${requestId}, ${accountId}, ${keyId}, ${null}, ${credits}, ${0}, ${null}, ${null}, ${0},
    ${utcMonth()}, ${instance}, ${admitted(requestId)}, ${Date.now()})`;
  return r.outcome;
}

const account = async () => {
  const [a] = await sql`SELECT credits, held FROM accounts WHERE id = ${accountId}`;
  const [k] = await sql`SELECT held FROM api_keys WHERE id = ${keyId}`;
  return { credits: Number(a.credits), held: Number(a.held), keyHeld: Number(k.held) };
};

describe("the hold sweeper", () => {
  test("releases a dead instance's hold once, as an interrupted request that costs nothing", async () => {
    expect(await hold("req_dead_1", "instance-that-died", 300)).toBe("ok");
    expect(await account()).toEqual({ credits: 1000, held: 300, keyHeld: 300 });
    // This instance's own hold is alive: its heartbeat is fresh.
    expect(await hold("req_alive_1", h.ctx.cluster!.instances.id, 200)).toBe("ok");

    expect(await h.ctx.cluster!.sweeper.sweep()).toBe(1);
    expect(await h.ctx.cluster!.sweeper.sweep()).toBe(0);
    expect(await account()).toEqual({ credits: 1000, held: 200, keyHeld: 200 });
    const [row] = await sql`SELECT status, error_code, cost, error_detail FROM usage_log WHERE request_id = 'req_dead_1'`;
    expect({ status: Number(row.status), code: row.error_code, cost: Number(row.cost) }).toEqual({ status: 0, code: "interrupted", cost: 0 });
    expect(row.error_detail).toContain("stopped heart-beating");
  }, T);

  test("a settlement arriving after the sweep (the instance was only paused) charges nothing", async () => {
    const late = {
      record: {
        requestId: "req_dead_1", accountId, orgId: null, userId: 1, keyId, keyLabel: "sweepy-key", keyPrefix: "sk-app-x", sourceIp: "127.0.0.1",
        endpoint: "/v1/chat/completions", model: "gpt-x", upstreamModel: "gpt-x", channelId: null, status: 200, errorCode: null, stream: true,
        promptTokens: 10, completionTokens: 40, cachedTokens: 0, cacheWriteTokens: 0, tokensEstimated: false, ttfbMs: 1, totalMs: 5, errorDetail: null, refused: false,
      },
      cost: 50, tokens: 50, shortfall: 0, at: Date.now(),
    };
    await commitPgSettlements(sql, [late]);
    expect((await account()).credits).toBe(1000);
    const charges = await sql`SELECT count(*)::int AS n FROM ledger WHERE ref = 'req_dead_1'`;
    expect(charges[0].n).toBe(0);
  }, T);

  test("once the live instance settles its own hold the books balance and nothing is held", async () => {
    await commitPgSettlements(sql, [{
      record: {
        requestId: "req_alive_1", accountId, orgId: null, userId: 1, keyId, keyLabel: "sweepy-key", keyPrefix: "sk-app-x", sourceIp: "127.0.0.1",
        endpoint: "/v1/chat/completions", model: "gpt-x", upstreamModel: "gpt-x", channelId: null, status: 200, errorCode: null, stream: true,
        promptTokens: 10, completionTokens: 20, cachedTokens: 0, cacheWriteTokens: 0, tokensEstimated: false, ttfbMs: 1, totalMs: 5, errorDetail: null, refused: false,
      },
      cost: 30, tokens: 30, shortfall: 0, at: Date.now(),
    }]);
    expect(await account()).toEqual({ credits: 970, held: 0, keyHeld: 0 });
    for (const i of await pgInvariants(sql)) expect({ name: i.name, ok: i.ok, detail: i.detail }).toEqual({ name: i.name, ok: true, detail: "" });
  }, T);

  test("an instance whose heartbeat is older than the lease is dead: its holds go too", async () => {
    await sql`INSERT INTO instances (id, host, pid, listen, version, mode, started_at, heartbeat_at) VALUES ('paused', 'h', 1, 'x', 'v', 'cluster', 0, 0)`;
    expect(await hold("req_paused_1", "paused", 100)).toBe("ok");
    expect(await h.ctx.cluster!.sweeper.sweep()).toBe(1);
    expect((await account()).held).toBe(0);
  }, T);
});
