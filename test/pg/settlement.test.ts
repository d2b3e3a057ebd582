import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { SQL } from "bun";
import { openPg } from "../../db/pg/client";
import { commitPgOrSplit, commitPgSettlements } from "../../server/usage/pg-settlement";
import { PgSettlementWriter } from "../../server/usage/pg-writer";
import type { Settlement } from "../../server/usage/settlement";
import { setLogLevel } from "../../server/log";
import { freshDatabase, startPostgres, stopPostgres, type FreshDatabase } from "../support/services";

/** Settlements on a real PostgreSQL: the same rows and rules as on SQLite, idempotent, and patient with an absent server. */
let fresh: FreshDatabase;
let sql: SQL;
beforeAll(async () => {
  setLogLevel("silent");
  fresh = await freshDatabase();
  ({ sql } = await openPg(fresh.url));
  await sql`INSERT INTO accounts (id, kind, name, credits, concurrency, monthly_tokens, created_at) VALUES (1, 'user', 'u', 1000, 3, 0, 0), (2, 'org', 'o', 50, 3, 0, 0)`;
  await sql`INSERT INTO users (id, name, role, enabled, account_id, created_at) VALUES (1, 'u', 'user', true, 1, 0)`;
  await sql`INSERT INTO ledger (at, account_id, kind, amount, balance_after, ref) VALUES (0, 1, 'grant', 1000, 1000, 'g1'), (0, 2, 'grant', 50, 50, 'g2')`;
  await sql`INSERT INTO api_keys (id, account_id, kind, user_id, prefix, hash, label, scopes, created_at) VALUES (7, 1, 'personal', 1, 'sk-app-x', 'h7', 'k', '["full"]'::jsonb, 0)`;
});
afterAll(async () => {
  await sql?.close();
  await fresh?.drop();
});

let n = 0;
function settlement(accountId: number, cost: number, extra: Partial<Settlement["record"]> = {}): Settlement {
  return {
    record: {
      requestId: `req_pg_${++n}`, accountId, orgId: accountId === 2 ? 2 : null, userId: 1, keyId: accountId === 1 ? 7 : null, keyLabel: "k", keyPrefix: "sk-app-x",
      sourceIp: "127.0.0.1", endpoint: "/v1/chat/completions", model: "m", upstreamModel: "m", channelId: null, status: 200, errorCode: null, stream: false,
      promptTokens: 3, completionTokens: 4, cachedTokens: 0, cacheWriteTokens: 0, tokensEstimated: false, ttfbMs: 1, totalMs: 2, errorDetail: null, refused: false, ...extra,
    },
    cost, tokens: 7, shortfall: 0, at: Date.now(),
  };
}

const one = async <T>(q: Promise<T[]>) => (await q)[0]!;

describe("commitPgSettlements", () => {
  test("usage rows, ledger charges with their balance after, balances, key spend, tokens and member spend; replays charge nothing", async () => {
    const batch = [settlement(1, 10), settlement(1, 5), settlement(2, 20), settlement(1, 0)];
    await commitPgSettlements(sql, batch);
    await commitPgSettlements(sql, batch); // the same batch again: recorded already
    expect(Number((await one(sql`SELECT credits FROM accounts WHERE id = 1`) as any).credits)).toBe(985);
    expect(Number((await one(sql`SELECT credits FROM accounts WHERE id = 2`) as any).credits)).toBe(30);
    const ledger = (await sql`SELECT ref, amount, balance_after FROM ledger WHERE kind = 'charge' ORDER BY id`).map((r: any) => [r.ref, Number(r.amount), Number(r.balance_after)]);
    expect(ledger).toEqual([[batch[0]!.record.requestId, -10, 990], [batch[1]!.record.requestId, -5, 985], [batch[2]!.record.requestId, -20, 30]]);
    expect(Number((await one(sql`SELECT count(*) AS n FROM usage_log`) as any).n)).toBe(4);
    expect(Number((await one(sql`SELECT spent FROM api_keys WHERE id = 7`) as any).spent)).toBe(15);
    expect(Number((await one(sql`SELECT sum(tokens) AS t FROM token_usage WHERE account_id = 1`) as any).t)).toBe(21);
    expect(Number((await one(sql`SELECT credits FROM member_spend WHERE account_id = 2 AND user_id = 1`) as any).credits)).toBe(20);
    // The books balance: every balance is the sum of its ledger.
    const off = await sql`SELECT a.id FROM accounts a WHERE a.credits <> (SELECT coalesce(sum(amount), 0) FROM ledger l WHERE l.account_id = a.id)`;
    expect(off.length).toBe(0);
  });

  test("an overdraft is refused by the CHECK; split, the batch's other settlements still commit", async () => {
    const good = settlement(1, 1);
    const bad = settlement(2, 10_000);
    const { dropped } = await commitPgOrSplit(sql, [good, bad]);
    expect(dropped.map((d) => d.requestId)).toEqual([bad.record.requestId]);
    expect((await sql`SELECT request_id FROM usage_log WHERE request_id IN (${good.record.requestId}, ${bad.record.requestId})`).map((r: any) => r.request_id)).toEqual([good.record.requestId]);
  });
});

describe("PgSettlementWriter", () => {
  test("batches, counts what is committed, and waits out a server that went away", async () => {
    const w = new PgSettlementWriter(sql, 5);
    let flushes = 0;
    w.onFlush(() => flushes++);
    const a = settlement(1, 2);
    w.enqueue(a);
    await w.flush();
    expect(w.committedCount).toBe(1);
    expect(flushes).toBeGreaterThan(0);

    await stopPostgres({ immediate: true });
    const b = settlement(1, 3);
    w.enqueue(b);
    await Bun.sleep(300);
    expect(w.unreachableSince).not.toBeNull();
    expect(w.committedCount).toBe(1);
    await startPostgres();
    await w.flush(); // resolves once the retried batch commits
    expect(w.unreachableSince).toBeNull();
    expect(w.committedCount).toBe(2);
    expect((await sql`SELECT cost FROM usage_log WHERE request_id = ${b.record.requestId}`).map((r: any) => Number(r.cost))).toEqual([3]);
    await w.close();
  }, 30_000);
});
