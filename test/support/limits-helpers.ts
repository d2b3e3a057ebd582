import { Database } from "bun:sqlite";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL, type Subprocess } from "bun";
import { utcMonth } from "../../server/limits/month";
import { AdminClient } from "../../tui/client";
import { startMockUpstream, type MockOptions, type MockUpstream } from "./mock-upstream";
import { startRelay, type Harness } from "./harness";

/** The model every limits test relays. */
export const MODEL = "gpt-x";
/** One credit per output token, prompts free: a request's worst-case hold is exactly its max_tokens. */
export const PER_OUTPUT_TOKEN = { inputPerMTok: 0, outputPerMTok: 1_000_000 };

const root = join(import.meta.dir, "..", "..");

/** A chat body; `extra` adds or overrides fields (max_tokens, stream …). */
export const chatBody = (extra: Record<string, unknown> = {}) => ({ model: MODEL, messages: [{ role: "user", content: "hi" }], ...extra });

/** POSTs a chat completion; `mock` becomes the `x-mock-behavior` header the relay forwards to the upstream. */
export function sendChat(url: string, key: string, body: unknown, opts: { mock?: MockOptions; signal?: AbortSignal } = {}): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  if (opts.mock) headers["x-mock-behavior"] = JSON.stringify(opts.mock);
  return fetch(`${url}/v1/chat/completions`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body), signal: opts.signal });
}

/** Polls until `fn` holds; the deadline is generous because only the outcome is asserted, never the time. */
export async function until(fn: () => boolean | Promise<boolean>, what: string, deadlineMs = 15_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/** Waits until the user has nothing in flight and nothing held. */
export async function settled(admin: AdminClient, name: string): Promise<void> {
  await until(async () => {
    const u = await admin.users.get(name);
    return u.inFlight === 0 && u.heldCredits === 0;
  }, `${name}: no request in flight and no credits held`);
}

export type LimitsRig = { h: Harness; mock: MockUpstream; channelId: number; close: () => Promise<void> };

/**
 * A relay with one mock upstream serving MODEL. The breaker threshold is raised so failure cases
 * never put the only channel into cool-down. `price` is set unless null.
 */
export async function startLimitsRig(env: Record<string, string> = {}, price: { inputPerMTok: number; outputPerMTok: number } | null = PER_OUTPUT_TOKEN): Promise<LimitsRig> {
  const mock = await startMockUpstream("up1");
  const h = await startRelay({ RELAY_BREAKER_THRESHOLD: "1000000", ...env });
  const ch = await h.admin.channels.create({ name: "c1", group: "official", baseUrl: `${mock.url}/v1`, apiKey: "sk-upstream-1", models: [MODEL] });
  if (price) await h.admin.prices.set(MODEL, price);
  return {
    h, mock, channelId: ch.id as number,
    close: async () => {
      await h.close();
      await mock.stop();
    },
  };
}

/** A row as a test reads it: PostgreSQL's int8 and numeric values come back as numbers, as SQLite's do. */
export type Row = Record<string, any>;
/** A query with `?` placeholders, on either dialect (keep the SQL portable: no strftime, no PRAGMA). */
export type Query = <T = Row>(sql: string, args?: unknown[]) => Promise<T[]>;
/** Where a test reads the relay's data: a running relay (its writer is flushed first) or an SQLite file it opened. */
export type DbSource = Harness | Database;

/** PostgreSQL type ids that Bun.sql returns as strings: int8, numeric. */
const NUMERIC_OIDS = new Set([20, 1700]);

/**
 * Runs `fn` with a query on the relay's database: its SQLite file in embedded mode, or PostgreSQL (Bun.sql on
 * the relay's RELAY_DATABASE_URL) otherwise, after waiting for the batch writer to commit what it holds.
 * The connection is the test's own; it may write (`write`), as another process or instance would.
 */
export async function withDb<T>(src: DbSource, fn: (q: Query, dialect: "sqlite" | "postgres") => Promise<T>, opts: { write?: boolean } = {}): Promise<T> {
  if (src instanceof Database) return fn(sqliteQuery(src), "sqlite");
  await src.ctx.writer.flush();
  const url = src.ctx.config.RELAY_DATABASE_URL;
  if (!url) {
    const db = new Database(join(src.dataDir, "relay.db"), { readonly: !opts.write });
    if (opts.write) db.run("PRAGMA busy_timeout = 5000");
    try {
      return await fn(sqliteQuery(db), "sqlite");
    } finally {
      db.close();
    }
  }
  const sql = new SQL(url, { max: 1 });
  try {
    return await fn(pgQuery(sql), "postgres");
  } finally {
    await sql.close({ timeout: 0 });
  }
}

/** One query on the relay's database (see withDb). */
export const dbQuery = <T = Row>(src: DbSource, sql: string, args: unknown[] = []): Promise<T[]> => withDb(src, (q) => q<T>(sql, args));

const sqliteQuery = (db: Database): Query => async <T>(sql: string, args: unknown[] = []) => db.query(sql).all(...(args as never[])) as T[];

function pgQuery(sql: SQL): Query {
  return async <T>(text: string, args: unknown[] = []) => {
    let n = 0;
    const rows = await sql.unsafe(text.replace(/\?/g, () => `$${++n}`), args as never[]);
    const numeric = ((rows as { columns?: { name: string; type: number }[] }).columns ?? []).filter((c) => NUMERIC_OIDS.has(c.type)).map((c) => c.name);
    return [...rows].map((r: Row) => {
      const out = { ...r };
      for (const c of numeric) if (out[c] !== null && out[c] !== undefined) out[c] = Number(out[c]);
      return out as T;
    });
  };
}

/** The ledger sum of a user's personal account (by user id), or of any account (`{ account }`). */
export const ledgerSumOf = (src: DbSource, who: number | { account: number }): Promise<number> =>
  withDb(src, async (q) => (await q<{ s: number }>("SELECT coalesce(sum(amount), 0) AS s FROM ledger WHERE account_id = ?", [await accountIdOf(q, who)]))[0]!.s);

export const creditsOf = (src: DbSource, who: number | { account: number }): Promise<number> =>
  withDb(src, async (q) => (await q<{ credits: number }>("SELECT credits FROM accounts WHERE id = ?", [await accountIdOf(q, who)]))[0]!.credits);

async function accountIdOf(q: Query, who: number | { account: number }): Promise<number> {
  return typeof who === "number" ? (await q<{ a: number }>("SELECT account_id AS a FROM users WHERE id = ?", [who]))[0]!.a : who.account;
}

/** Sums `value` per `${key} ${UTC month of at}`: month bucketing in JS, the same on both dialects. */
function byMonth(rows: { key: string | number; at: number; value: number }[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const r of rows) {
    const k = `${r.key} ${utcMonth(r.at)}`;
    sums.set(k, (sums.get(k) ?? 0) + r.value);
  }
  return sums;
}

/**
 * Every accounting invariant the database must keep, however the process ended. Returns the violations
 * (empty when consistent) so a failing test shows all of them at once.
 */
export function ledgerViolations(src: DbSource): Promise<string[]> {
  return withDb(src, async (q, dialect) => {
    const out: string[] = [];
    if (dialect === "sqlite") {
      const integrity = (await q<{ integrity_check: string }>("PRAGMA integrity_check")).map((r) => r.integrity_check);
      if (integrity.join() !== "ok") out.push(`integrity_check: ${integrity.join("; ")}`);
    }
    for (const r of await q<{ id: number; credits: number; s: number }>(
      "SELECT a.id, a.credits, coalesce((SELECT sum(amount) FROM ledger l WHERE l.account_id = a.id), 0) AS s FROM accounts a",
    )) {
      if (r.credits !== r.s) out.push(`account ${r.id}: credits ${r.credits} != ledger sum ${r.s}`);
      if (r.credits < 0) out.push(`account ${r.id}: negative balance ${r.credits}`);
    }
    for (const r of await q<{ ref: string; n: number }>("SELECT ref, count(*) AS n FROM ledger GROUP BY ref HAVING count(*) > 1")) out.push(`ref ${r.ref} appears ${r.n} times`);
    // balance_after must be the running sum of the account's rows in commit order.
    const running = new Map<number, number>();
    for (const r of await q<{ id: number; account_id: number; amount: number; balance_after: number }>("SELECT id, account_id, amount, balance_after FROM ledger ORDER BY id")) {
      const b = (running.get(r.account_id) ?? 0) + r.amount;
      running.set(r.account_id, b);
      if (r.balance_after !== b) out.push(`ledger row ${r.id}: balance_after ${r.balance_after} != running sum ${b}`);
      if (r.balance_after < 0) out.push(`ledger row ${r.id}: negative balance_after ${r.balance_after}`);
    }
    for (const r of await q<{ request_id: string; cost: number; n: number; amount: number | null }>(
      `SELECT u.request_id, u.cost, count(l.id) AS n, sum(l.amount) AS amount FROM usage_log u
       LEFT JOIN ledger l ON l.ref = u.request_id AND l.kind = 'charge' GROUP BY u.id, u.request_id, u.cost`,
    )) {
      if (r.cost > 0 && (r.n !== 1 || r.amount !== -r.cost)) out.push(`usage ${r.request_id}: cost ${r.cost} has ${r.n} charge row(s) totalling ${r.amount}`);
      if (r.cost === 0 && r.n !== 0) out.push(`usage ${r.request_id}: cost 0 but ${r.n} charge row(s)`);
      if (r.cost < 0) out.push(`usage ${r.request_id}: negative cost`);
    }
    for (const r of await q<{ ref: string }>("SELECT ref FROM ledger l WHERE kind = 'charge' AND NOT EXISTS (SELECT 1 FROM usage_log u WHERE u.request_id = l.ref)")) {
      out.push(`charge ${r.ref} has no usage row`);
    }
    for (const r of await q<{ id: number; spent: number; s: number }>(
      "SELECT k.id, k.spent, coalesce((SELECT -sum(amount) FROM ledger l WHERE l.key_id = k.id AND l.kind IN ('charge', 'refund')), 0) AS s FROM api_keys k",
    )) {
      if (r.spent !== r.s) out.push(`key ${r.id}: spent ${r.spent} != its charges less refunds ${r.s}`);
    }
    // Tokens count in the month of their request, or for work that finished later, the month it was settled.
    const tokens = byMonth(await q<{ key: number; at: number; value: number }>(
      `SELECT account_id AS key, at, prompt_tokens + completion_tokens AS value FROM usage_log
       UNION ALL SELECT account_id AS key, settled_at AS at, used_tokens AS value FROM objects WHERE settled_at IS NOT NULL AND used_tokens > 0`,
    ));
    for (const r of await q<{ account_id: number; month: string; tokens: number }>("SELECT account_id, month, tokens FROM token_usage")) {
      const s = tokens.get(`${r.account_id} ${r.month}`) ?? 0;
      if (r.tokens !== s) out.push(`account ${r.account_id} ${r.month}: token_usage ${r.tokens} != usage rows ${s}`);
    }
    // A member's spend in an org equals the charges of their member keys' requests there.
    const spend = byMonth((await q<{ account_id: number; user_id: number; at: number; cost: number }>(
      `SELECT u.account_id, u.user_id, u.at, u.cost - coalesce((SELECT l.amount FROM objects o JOIN ledger l ON l.kind = 'refund' AND l.ref = 'refund:' || o.kind || ':' || o.upstream_id
         WHERE o.request_id = u.request_id), 0) AS cost FROM usage_log u WHERE u.org_id IS NOT NULL`,
    )).map((r) => ({ key: `${r.account_id}:${r.user_id}`, at: r.at, value: r.cost })));
    for (const r of await q<{ account_id: number; user_id: number; month: string; credits: number }>("SELECT account_id, user_id, month, credits FROM member_spend")) {
      const s = spend.get(`${r.account_id}:${r.user_id} ${r.month}`) ?? 0;
      if (r.credits !== s) out.push(`member ${r.user_id} of account ${r.account_id} ${r.month}: member_spend ${r.credits} != charges ${s}`);
    }
    return out;
  });
}

/**
 * A `relay serve` child process on a data dir, reached over its admin socket: embedded (SQLite) whatever
 * RELAY_TEST_MODE says; crashes in cluster mode are test/drills/cluster.ts's.
 */
export type ChildRelay = { proc: Subprocess; url: string; admin: AdminClient; dataDir: string; kill9: () => Promise<void>; stop: () => Promise<void> };

export const tempDataDir = () => mkdtempSync(join(tmpdir(), "relay-limits-"));

/** Starts `bun server/main.ts serve` (RELAY_PORT 0: a free port) and waits until its admin socket answers. */
export async function spawnRelay(dataDir: string, env: Record<string, string> = {}): Promise<ChildRelay> {
  const proc = Bun.spawn(["bun", join(root, "server/main.ts"), "serve"], {
    env: { ...process.env, RELAY_DATA_DIR: dataDir, RELAY_PORT: "0", RELAY_LOG_LEVEL: "error", RELAY_BREAKER_THRESHOLD: "1000000", ...env },
    stdout: "ignore",
    stderr: "pipe",
  });
  const admin = new AdminClient(join(dataDir, "admin.sock"));
  let url = "";
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`relay exited with ${proc.exitCode}: ${await new Response(proc.stderr as ReadableStream).text()}`);
    try {
      url = (await admin.health()).listen as string;
      return true;
    } catch {
      return false;
    }
  }, "child relay up");
  return {
    proc, url, admin, dataDir,
    kill9: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}
