import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { startMockUpstream, type MockOptions, type MockUpstream } from "../support/mock-upstream";
import {
  MODEL, chatBody, ledgerViolations, sendChat, spawnRelay, tempDataDir, until, type ChildRelay,
} from "../support/limits-helpers";

let mock: MockUpstream;
const dirs: string[] = [];
beforeAll(async () => {
  mock = await startMockUpstream("up1");
});
afterAll(async () => {
  await mock.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh data dir with a running child relay, one channel to the mock and a price. */
async function freshRelay(env: Record<string, string> = {}): Promise<ChildRelay> {
  const dir = tempDataDir();
  dirs.push(dir);
  const relay = await spawnRelay(dir, env);
  await relay.admin.channels.create({ name: "c1", group: "official", baseUrl: `${mock.url}/v1`, apiKey: "sk-upstream-1", models: [MODEL] });
  await relay.admin.prices.set(MODEL, { inputPerMTok: 300_000, outputPerMTok: 1_000_000 });
  return relay;
}

async function createUser(relay: ChildRelay, name: string, user: Record<string, unknown>, key: Record<string, unknown> = {}) {
  const u = await relay.admin.users.create({ name, ...user });
  const k = await relay.admin.keys.create({ user: name, label: name, ...key });
  return { id: u.id as number, key: k.key as string };
}

/** Reads the data dir's database directly (read-only; the server may be dead or alive). */
function withDb<T>(dir: string, fn: (db: Database) => T): T {
  const db = new Database(join(dir, "relay.db"), { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** The accounting invariants of the data dir's database (see ledgerViolations). */
async function violationsIn(dir: string): Promise<string[]> {
  const db = new Database(join(dir, "relay.db"), { readonly: true });
  try {
    return await ledgerViolations(db);
  } finally {
    db.close();
  }
}

describe("crash and restart", () => {
  test("no leaked slot after a kill -9 mid-stream: the user can run `cap` requests at once after the restart", async () => {
    let relay = await freshRelay();
    const cap = 3;
    const { key } = await createUser(relay, "streamer", { credits: 100_000, concurrency: cap });
    const ctrl = new AbortController();
    const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
    for (let i = 0; i < cap; i++) {
      const res = await sendChat(relay.url, key, chatBody({ max_tokens: 2000, stream: true }), { mock: { behavior: "drip", delayMs: 200, chunks: 1000 }, signal: ctrl.signal });
      expect(res.status).toBe(200);
      readers.push(res.body!.getReader());
      await readers[i]!.read();
    }
    const live = await relay.admin.users.get("streamer");
    expect(live.inFlight).toBe(cap);
    expect(live.heldCredits).toBeGreaterThanOrEqual(cap * 2000); // output bound plus the priced prompt bound
    expect((await sendChat(relay.url, key, chatBody({ max_tokens: 5 }))).status).toBe(429);

    await relay.kill9();
    ctrl.abort();
    for (const r of readers) await r.cancel().catch(() => {});
    await until(() => mock.inFlight === 0, "the dead relay's upstream streams are gone");
    mock.reset();

    relay = await spawnRelay(relay.dataDir);
    try {
      expect(await relay.admin.users.get("streamer")).toMatchObject({ inFlight: 0, heldCredits: 0, balance: 100_000 });
      const run = Array.from({ length: cap }, () => sendChat(relay.url, key, chatBody({ max_tokens: 5 }), { mock: { behavior: "slow", delayMs: 300 } }));
      await until(() => mock.inFlight === cap, "cap requests upstream at once");
      // The cap itself survived the restart.
      expect((await sendChat(relay.url, key, chatBody({ max_tokens: 5 }))).status).toBe(429);
      expect((await Promise.all(run)).map((r) => r.status)).toEqual(Array(cap).fill(200));
      expect(mock.maxInFlight).toBe(cap);
    } finally {
      await relay.stop();
    }
    expect(await violationsIn(relay.dataDir)).toEqual([]);
  }, 30_000);

  test("kill -9 in the middle of a load, twice, then restart: ledger, balances, key spend and tokens stay consistent", async () => {
    // A long flush interval in the first life, so the kill surely loses queued (unwritten) settlements.
    let relay = await freshRelay({ RELAY_FLUSH_INTERVAL_MS: "50" });
    const users = [
      await createUser(relay, "l1", { credits: 3000, concurrency: 6 }),
      await createUser(relay, "l2", { credits: 3000, concurrency: 6 }, { spendLimit: 1500 }),
      await createUser(relay, "l3", { credits: 3000, concurrency: 6, monthlyTokens: 4000 }),
      await createUser(relay, "l4", { credits: 400, concurrency: 6 }),
    ];
    const scenarios: { body: Record<string, unknown>; mock?: MockOptions; abortAfterFirstChunk?: boolean }[] = [
      { body: chatBody({ max_tokens: 12 }) },
      { body: chatBody() },
      { body: chatBody({ max_tokens: 30, stream: true }), mock: { chunks: 8 } },
      { body: chatBody({ max_tokens: 30, stream: true }), mock: { behavior: "drip", delayMs: 5, chunks: 50 }, abortAfterFirstChunk: true },
      { body: chatBody({ max_tokens: 30, stream: true }), mock: { behavior: "disconnect", chunks: 3 } },
      { body: chatBody({ max_tokens: 8 }), mock: { behavior: "status", status: 500 } },
      { body: chatBody({ max_tokens: 8 }), mock: { behavior: "slow", delayMs: 15 } },
    ];

    /** Workers loop over random scenarios until stopped; requests cut by the kill simply fail. */
    async function load(r: ChildRelay, until_: { stop: boolean }, done: { n: number }) {
      const worker = async (key: string) => {
        while (!until_.stop) {
          const s = scenarios[Math.floor(Math.random() * scenarios.length)]!;
          const ctrl = new AbortController();
          try {
            const res = await sendChat(r.url, key, s.body, { mock: s.mock, signal: ctrl.signal });
            if (s.abortAfterFirstChunk && res.body) {
              await res.body.getReader().read();
              ctrl.abort();
            } else await res.arrayBuffer();
            done.n++;
          } catch {
            if (until_.stop) return;
            await Bun.sleep(5);
          }
        }
      };
      return Promise.all(users.flatMap((u) => Array.from({ length: 6 }, () => worker(u.key))));
    }

    const check = async (dir: string) => {
      expect(await violationsIn(dir)).toEqual([]);
      return withDb(dir, (db) => db.query<{ n: number; charged: number }, []>(
        "SELECT count(*) AS n, coalesce(sum(cost), 0) AS charged FROM usage_log").get()!);
    };

    for (let life = 0; life < 2; life++) {
      const stop = { stop: false };
      const done = { n: 0 };
      const running = load(relay, stop, done);
      // Answers include instant refusals (402, 429), so 150 can come before the first 50 ms flush: wait for
      // some settlements to be committed too, so the kill lands between committed and queued ones.
      const recorded = () => withDb(relay.dataDir, (db) => db.query<{ n: number }, []>("SELECT count(*) AS n FROM usage_log WHERE cost > 0").get()!.n);
      await until(() => done.n >= 150 && recorded() > 0, "150 requests answered and some charged");
      await relay.kill9();
      stop.stop = true;
      await running;
      const after = await check(relay.dataDir);
      expect(after.n).toBeGreaterThan(0);
      expect(after.charged).toBeGreaterThan(0);
      relay = await spawnRelay(relay.dataDir);
      // Live accounts rebuilt from the database: nothing held or in flight, balances as committed.
      const credits = withDb(relay.dataDir, (db) => db.query<{ name: string; credits: number }, []>("SELECT name, credits FROM accounts WHERE kind = 'user'").all());
      for (const { name, credits: c } of credits) {
        expect(await relay.admin.users.get(name)).toMatchObject({ balance: c, heldCredits: 0, inFlight: 0 });
      }
    }

    // The third life ends gracefully: everything queued is flushed, and still consistent.
    const stop = { stop: false };
    const done = { n: 0 };
    const running = load(relay, stop, done);
    await until(() => done.n >= 50, "50 requests answered");
    stop.stop = true;
    await running;
    for (const name of ["l1", "l2", "l3", "l4"]) {
      await until(async () => (await relay.admin.users.get(name)).inFlight === 0, `${name} settled`);
    }
    const live = (await relay.admin.users.list()).data;
    await relay.stop();
    await check(relay.dataDir);
    withDb(relay.dataDir, (db) => {
      for (const u of live) expect(db.query<{ credits: number }, [string]>("SELECT credits FROM accounts WHERE kind = 'user' AND name = ?").get(u.name)!.credits).toBe(u.balance);
    });
  }, 60_000);
});
