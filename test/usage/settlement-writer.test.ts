import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createContext } from "../../server/bootstrap";
import { loadConfig } from "../../server/config";
import type { AppContext } from "../../server/context";
import { setLogLevel } from "../../server/log";
import { createUser } from "../../server/users/service";
import { createKey } from "../../server/keys/service";
import { authenticateKey } from "../../server/auth/authenticate";
import { decodeSettlements, encodeSettlements, type Settlement } from "../../server/usage/settlement";
import { ledgerViolations, tempDataDir } from "../support/limits-helpers";

setLogLevel("silent");
const dirs: string[] = [];
const contexts: AppContext[] = [];
afterAll(() => {
  for (const c of contexts) {
    c.writer.close();
    c.journal.close();
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A context on a fresh data dir; the flush timer is long, so only explicit flushes (or hand-offs) commit. */
async function context(dbPath?: string): Promise<AppContext> {
  const dir = tempDataDir();
  dirs.push(dir);
  const ctx = await createContext(loadConfig({ RELAY_DATA_DIR: dir, RELAY_LOG_LEVEL: "silent", RELAY_FLUSH_INTERVAL_MS: "10000" }), dbPath ? { dbPath } : {});
  contexts.push(ctx);
  return ctx;
}

let n = 0;
function settlement(accountId: number, keyId: number | null, cost: number): Settlement {
  const requestId = `req_sw_${++n}`;
  return {
    record: {
      requestId, accountId, orgId: null, userId: null, keyId, keyLabel: "k", keyPrefix: "sk-app-test", sourceIp: "127.0.0.1", endpoint: "/v1/chat/completions", model: "m", upstreamModel: "m",
      channelId: null, status: 200, errorCode: null, stream: false, promptTokens: 3, completionTokens: 4, tokensEstimated: false, ttfbMs: 1, totalMs: 2,
      errorDetail: null, refused: false, cachedTokens: 0, cacheWriteTokens: 0,
    },
    cost, tokens: 7, shortfall: 0, at: Date.now(),
  };
}

const count = (ctx: AppContext, sql: string) => (ctx.db!.$client.query(sql).get() as { n: number }).n;

describe("settlement writer", () => {
  test("settlements reach the thread unchanged (every field of the flat encoding in its place)", () => {
    const a = settlement(1, 2, 3);
    const b: Settlement = { ...settlement(4, null, 0), record: { ...settlement(4, null, 0).record, errorCode: "client_closed", stream: true, tokensEstimated: true, ttfbMs: null, channelId: 9 } };
    expect(decodeSettlements(encodeSettlements([a, b]))).toEqual([a, b]);
  });

  test("a database file is written by the writer's thread; flush returns once the rows are committed", async () => {
    const ctx = await context();
    expect(ctx.writer.where).toBe("thread");
    const u = await createUser(ctx, { name: "t1", credits: 1000 }, "test");
    const { row: k } = await createKey(ctx, { accountId: u.accountId, kind: "personal", userId: u.id }, { label: "k" }, "test");
    for (let i = 0; i < 5; i++) ctx.writer.enqueue(settlement(u.accountId, k.id, 10));
    expect(ctx.writer.pending).toBe(5);
    ctx.writer.flush();
    expect(ctx.writer.pending).toBe(0);
    expect(count(ctx, "SELECT count(*) AS n FROM usage_log")).toBe(5);
    expect(count(ctx, "SELECT credits AS n FROM accounts WHERE name = 't1'")).toBe(950);
    expect(count(ctx, "SELECT spent AS n FROM api_keys")).toBe(50);
    expect(await ledgerViolations(ctx.db!.$client)).toEqual([]);
  });

  test("its commits keep the key cache warm; a change to a key from another connection still clears it", async () => {
    const ctx = await context();
    const u = await createUser(ctx, { name: "t2", credits: 1000 }, "test");
    const { row: k, key } = await createKey(ctx, { accountId: u.accountId, kind: "personal", userId: u.id }, { label: "k" }, "test");
    await authenticateKey(ctx, key!, "127.0.0.1"); // loads the key into the cache (a promise on a miss)
    expect(ctx.keyCache.get(k.hash)).toBeTruthy();
    ctx.writer.enqueue(settlement(u.accountId, k.id, 10)); // updates api_keys.spent and last_used_at, accounts.credits
    ctx.writer.flush();
    await Bun.sleep(1); // the cache asks SQLite once per event-loop turn
    expect(ctx.keyCache.get(k.hash)).toBeTruthy();

    const other = new (await import("bun:sqlite")).Database(join(ctx.config.RELAY_DATA_DIR, "relay.db"));
    other.run("UPDATE api_keys SET enabled = 0");
    other.close();
    await Bun.sleep(1);
    expect(ctx.keyCache.get(k.hash)).toBeUndefined();
  });

  test("if the thread dies, the main thread takes over: nothing lost, nothing charged twice", async () => {
    const ctx = await context();
    const u = await createUser(ctx, { name: "t3", credits: 1000 }, "test");
    const first = settlement(u.accountId, null, 10);
    ctx.writer.enqueue(first);
    ctx.writer.flush();
    // The thread goes away without the writer asking (a crash in it, say).
    (ctx.writer as unknown as { thread: { worker: Worker } }).thread.worker.terminate();
    const deadline = Date.now() + 5000;
    while (ctx.writer.where === "thread" && Date.now() < deadline) await Bun.sleep(5);
    expect(ctx.writer.where).toBe("main");
    ctx.writer.enqueue(settlement(u.accountId, null, 20));
    ctx.writer.enqueue(first); // a settlement written before: idempotent by request id
    ctx.writer.flush();
    expect(count(ctx, "SELECT count(*) AS n FROM usage_log")).toBe(2);
    expect(count(ctx, "SELECT credits AS n FROM accounts WHERE name = 't3'")).toBe(970);
    expect(await ledgerViolations(ctx.db!.$client)).toEqual([]);
  });

  test("an in-memory database is written in the main thread", async () => {
    const ctx = await context(":memory:");
    expect(ctx.writer.where).toBe("main");
    const u = await createUser(ctx, { name: "t4", credits: 100 }, "test");
    ctx.writer.enqueue(settlement(u.accountId, null, 30));
    ctx.writer.flush();
    expect(count(ctx, "SELECT credits AS n FROM accounts WHERE name = 't4'")).toBe(70);
  });
});
