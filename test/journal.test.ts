import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDb } from "../db/client";
import { recoverJournal, sqliteRecoveryTarget } from "../server/usage/journal";
import type { Settlement } from "../server/usage/settlement";
import { admittedLine, outcomeLine } from "../server/usage/journal-lines";
import { removeDir, setupTenant, startRelayProcess, tempDir, type RelayProcess } from "./bench/processes";
import { startMockUpstream, type MockOptions, type MockUpstream } from "./support/mock-upstream";
import { readStream } from "./drills/support";

/**
 * The request journal: a kill -9 loses nothing answered, and nothing admitted goes unrecorded. The relay
 * runs as a child process (as in production) with a writer that commits only every 10 s, so every kill
 * below lands before the settlement was committed: only the journal can bring it back.
 */
const MODEL = "gpt-journal";
const SLOW_WRITER = { RELAY_FLUSH_INTERVAL_MS: "10000" };

let mock: MockUpstream;
const dirs: string[] = [];
beforeAll(async () => {
  mock = await startMockUpstream("journal");
});
afterAll(async () => {
  await mock.stop();
  for (const d of dirs) removeDir(d);
});

async function relayWithTenant(): Promise<{ relay: RelayProcess; key: string; dataDir: string }> {
  const dataDir = tempDir("relay-journal-");
  dirs.push(dataDir);
  const relay = await startRelayProcess({ dataDir, env: SLOW_WRITER });
  const { key } = await setupTenant(relay.admin, { user: "jo", model: MODEL, credits: 1_000_000, concurrency: 10, upstreams: [{ name: "up", baseUrl: `${mock.url}/v1` }] });
  return { relay, key, dataDir };
}

const chat = (url: string, key: string, stream: boolean, mockOpts?: MockOptions) =>
  fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...(mockOpts ? { "x-mock-behavior": JSON.stringify(mockOpts) } : {}) },
    body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "journal" }], stream, max_tokens: 20 }),
  });

type Row = { request_id: string; status: number; error_code: string | null; cost: number; prompt_tokens: number; completion_tokens: number };
function rowsOf(dataDir: string): Map<string, Row> {
  const db = new Database(join(dataDir, "relay.db"), { readonly: true });
  try {
    return new Map(db.query<Row, []>("SELECT request_id, status, error_code, cost, prompt_tokens, completion_tokens FROM usage_log").all().map((r) => [r.request_id, r]));
  } finally {
    db.close();
  }
}
function ledgerOf(dataDir: string): { credits: number; sum: number; charges: Map<string, number> } {
  const db = new Database(join(dataDir, "relay.db"), { readonly: true });
  try {
    const credits = db.query<{ c: number }, []>("SELECT credits AS c FROM accounts WHERE name = 'jo'").get()!.c;
    const sum = db.query<{ s: number }, []>("SELECT sum(amount) AS s FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE a.name = 'jo'").get()!.s;
    const charges = new Map(db.query<{ ref: string; amount: number }, []>("SELECT ref, amount FROM ledger WHERE kind = 'charge'").all().map((r) => [r.ref, -r.amount]));
    return { credits, sum, charges };
  } finally {
    db.close();
  }
}

describe("kill -9 loses nothing answered", () => {
  test("a plain answer the client got is in the usage log after the restart, charged once", async () => {
    const { relay, key, dataDir } = await relayWithTenant();
    const res = await chat(relay.url, key, false);
    expect(res.status).toBe(200);
    const id = res.headers.get("x-request-id")!;
    await res.text();
    await relay.kill9();
    expect(rowsOf(dataDir).has(id)).toBe(false); // the writer had not committed it: only the journal has it
    const again = await startRelayProcess({ dataDir, env: SLOW_WRITER });
    try {
      const row = rowsOf(dataDir).get(id);
      expect(row).toMatchObject({ status: 200, error_code: null, prompt_tokens: 10, completion_tokens: 5 });
      const books = ledgerOf(dataDir);
      expect(books.charges.get(id)).toBe(row!.cost);
      expect(row!.cost).toBeGreaterThan(0);
      expect(books.credits).toBe(1_000_000 - row!.cost);
      expect(books.sum).toBe(books.credits);
      // The live balance after the restart is the recovered one.
      expect((await again.admin.users.get("jo")).balance).toBe(books.credits);
    } finally {
      await again.stop();
    }
    // Recovery ran once: a second restart charges nothing again.
    const third = await startRelayProcess({ dataDir, env: SLOW_WRITER });
    await third.stop();
    expect(ledgerOf(dataDir).charges.size).toBe(1);
  });

  test("a stream the client has whole is charged even when the relay dies before the upstream closes", async () => {
    const { relay, key, dataDir } = await relayWithTenant();
    // The upstream sends [DONE] and then keeps its connection open: the relay settles only when it closes.
    const res = await chat(relay.url, key, true, { holdOpenMs: 30_000 });
    const id = res.headers.get("x-request-id")!;
    expect(await readStream(res, null)).toBe("done");
    await relay.kill9();
    const again = await startRelayProcess({ dataDir, env: SLOW_WRITER });
    try {
      const row = rowsOf(dataDir).get(id);
      expect(row).toMatchObject({ status: 200, error_code: null, completion_tokens: 5 });
      expect(ledgerOf(dataDir).charges.get(id)).toBe(row!.cost);
      expect(row!.cost).toBeGreaterThan(0);
    } finally {
      await again.stop();
    }
  });

  test("so is a translated stream (an Anthropic client on an OpenAI channel)", async () => {
    const { relay, key, dataDir } = await relayWithTenant();
    const res = await fetch(`${relay.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01", "x-mock-behavior": JSON.stringify({ holdOpenMs: 30_000 }) },
      body: JSON.stringify({ model: MODEL, max_tokens: 20, messages: [{ role: "user", content: "journal" }], stream: true }),
    });
    const id = res.headers.get("x-request-id")!;
    expect(await res.text()).toContain("event: message_stop"); // the client's stream ended with the answer whole
    await relay.kill9();
    const again = await startRelayProcess({ dataDir, env: SLOW_WRITER });
    try {
      const row = rowsOf(dataDir).get(id);
      expect(row).toMatchObject({ status: 200, error_code: null, completion_tokens: 5 });
      expect(ledgerOf(dataDir).charges.get(id)).toBe(row!.cost);
    } finally {
      await again.stop();
    }
  });

  test("a request cut by the kill is recorded as interrupted and costs nothing; its hold and slot are gone", async () => {
    const { relay, key, dataDir } = await relayWithTenant();
    const res = await chat(relay.url, key, true, { behavior: "drip", delayMs: 2000, chunks: 10 });
    const id = res.headers.get("x-request-id")!;
    const reader = res.body!.getReader();
    await reader.read(); // the first event is in: the request is running
    await relay.kill9();
    await reader.cancel().catch(() => {});
    const again = await startRelayProcess({ dataDir, env: SLOW_WRITER });
    try {
      expect(rowsOf(dataDir).get(id)).toMatchObject({ status: 0, error_code: "interrupted", cost: 0 });
      const books = ledgerOf(dataDir);
      expect(books.charges.has(id)).toBe(false);
      expect(books.credits).toBe(1_000_000);
      expect(await again.admin.users.get("jo")).toMatchObject({ balance: 1_000_000, heldCredits: 0, inFlight: 0 });
    } finally {
      await again.stop();
    }
  });

  test("a second relay on the same data dir is refused before it touches the journal", async () => {
    const { relay, dataDir } = await relayWithTenant();
    try {
      const err = await startRelayProcess({ dataDir, env: SLOW_WRITER, timeoutMs: 5000 }).then(() => null, (e: Error) => e);
      expect(err?.message).toContain(`another relay (pid ${relay.pid}) is using the data dir`);
      expect((await fetch(`${relay.url}/v1/models`)).status).toBe(200);
    } finally {
      await relay.stop();
    }
  });
});

describe("the journal on disk", () => {
  test("segments go once their requests settled and were committed; a graceful stop leaves none", async () => {
    const dataDir = tempDir("relay-journal-gc-");
    dirs.push(dataDir);
    const relay = await startRelayProcess({ dataDir, env: { RELAY_FLUSH_INTERVAL_MS: "5" } });
    const { key } = await setupTenant(relay.admin, { user: "jo", model: MODEL, credits: 1_000_000, concurrency: 10, upstreams: [{ name: "up", baseUrl: `${mock.url}/v1` }] });
    for (let i = 0; i < 20; i++) await (await chat(relay.url, key, i % 2 === 0)).text();
    const segments = () => readdirSync(join(dataDir, "journal")).filter((f) => f.endsWith(".log"));
    const lines = (f: string) => readFileSync(join(dataDir, "journal", f), "utf8").replace(/\0+$/, "").split("\n").filter(Boolean).length;
    const first = segments();
    expect(first.length).toBe(1);
    expect(lines(first[0]!)).toBe(50); // an A and an S per request, and a P per stream
    // The segment in use rotates every 2 s; once sealed, with every request in it settled and committed, it is
    // wiped (and kept, mapped, for reuse).
    const deadline = Date.now() + 10_000;
    while (lines(first[0]!) > 0 && Date.now() < deadline) await Bun.sleep(100);
    expect(lines(first[0]!)).toBe(0);
    expect(segments().length).toBe(2); // the wiped one and the one in use
    await relay.stop();
    expect(segments()).toEqual([]);
    expect(existsSync(join(dataDir, "journal", "LOCK"))).toBe(false);
  });

  test("recovery: S supersedes P, P stands when there is no S, A alone is interrupted, a torn line is skipped, a committed request is not charged again", async () => {
    const dir = tempDir("relay-journal-unit-");
    dirs.push(dir);
    const db = openDb(join(dir, "relay.db"));
    db.$client.run("INSERT INTO accounts (id, kind, name, credits, concurrency, monthly_tokens, created_at) VALUES (1, 'user', 'u', 1000, 3, 0, 0)");
    db.$client.run("INSERT INTO ledger (at, account_id, kind, amount, balance_after, ref) VALUES (0, 1, 'grant', 1000, 1000, 'g')");
    const settlement = (id: string, cost: number): Settlement => ({
      record: {
        requestId: id, accountId: 1, orgId: null, userId: null, keyId: null, keyLabel: "", keyPrefix: "k", sourceIp: "", endpoint: "/v1/chat/completions",
        model: "m", upstreamModel: "m", channelId: null, status: 200, errorCode: null, stream: true, promptTokens: 1, completionTokens: 1,
        cachedTokens: 0, cacheWriteTokens: 0, tokensEstimated: false, ttfbMs: 1, totalMs: 1, errorDetail: null, refused: false,
      },
      cost, tokens: 2, shortfall: 0, at: Date.now(),
    });
    const admitted = (id: string) => admittedLine({ requestId: id, accountId: 1, orgId: null, userId: null, keyId: null, keyLabel: "tab\there", keyPrefix: "k", sourceIp: "", endpoint: "/v1/chat/completions", model: "m\nx", stream: true }, Date.now());
    const line = (kind: "S" | "P", s: Settlement) => outcomeLine(kind, s);
    // Already committed before the kill: in the usage log, and in the journal too.
    const done = settlement("r-done", 7);
    db.$client.run("INSERT INTO usage_log (request_id, at, account_id, status, cost) VALUES ('r-done', 0, 1, 200, 7)");
    db.$client.run("UPDATE accounts SET credits = 993 WHERE id = 1");
    db.$client.run("INSERT INTO ledger (at, account_id, kind, amount, balance_after, ref) VALUES (0, 1, 'charge', -7, 993, 'r-done')");
    const jdir = join(dir, "journal");
    mkdirSync(jdir);
    writeFileSync(join(jdir, "0000000001.log"), admitted("r-done") + line("S", done) + admitted("r-ps") + line("P", settlement("r-ps", 3)) + admitted("r-p") + admitted("r-a"));
    // The second segment ends in a line a kill cut short, then the zeros of a mapped segment's unwritten rest.
    writeFileSync(join(jdir, "0000000002.log"), line("P", settlement("r-p", 4)) + line("S", settlement("r-ps", 5)) + admitted("r-torn").slice(0, 40) + "\0".repeat(64));
    const r = await recoverJournal(jdir, sqliteRecoveryTarget(db.$client));
    expect(r).toEqual({ settled: 2, interrupted: 1, segments: 2, nextSegment: 3 });
    const rows = new Map(db.$client.query<Row, []>("SELECT request_id, status, error_code, cost, prompt_tokens, completion_tokens FROM usage_log").all().map((x) => [x.request_id, x]));
    expect([...rows.keys()].sort()).toEqual(["r-a", "r-done", "r-p", "r-ps"]);
    expect(rows.get("r-ps")!.cost).toBe(5);
    expect(rows.get("r-p")!.cost).toBe(4);
    expect(rows.get("r-a")).toMatchObject({ status: 0, error_code: "interrupted", cost: 0 });
    // Strings with tabs and newlines come back whole.
    expect(db.$client.query<{ key_label: string; model: string }, []>("SELECT key_label, model FROM usage_log WHERE request_id = 'r-p'").get()).toEqual({ key_label: "tab\there", model: "m\nx" });
    expect(db.$client.query<{ c: number }, []>("SELECT credits AS c FROM accounts WHERE id = 1").get()!.c).toBe(1000 - 7 - 5 - 4);
    expect(db.$client.query<{ n: number }, []>("SELECT count(*) AS n FROM ledger WHERE ref = 'r-done'").get()!.n).toBe(1);
    expect(readdirSync(jdir).filter((f) => f.endsWith(".log"))).toEqual([]);
    // Idempotent: nothing left to do.
    expect(await recoverJournal(jdir, sqliteRecoveryTarget(db.$client))).toEqual({ settled: 0, interrupted: 0, segments: 0, nextSegment: 1 });
    db.$client.close();
  });
});

describe("journal lines", () => {
  test("round-trip every field, with tabs, newlines, backslashes, NULs, dashes and nulls in strings", async () => {
    const { parseLine } = await import("../server/usage/journal-lines");
    const a = { requestId: "req_x1", accountId: 3, orgId: null, userId: 7, keyId: null, keyLabel: "a\tb\nc\\d\0e", keyPrefix: "-", sourceIp: "::1", endpoint: "/v1/messages", model: "\\t", stream: true };
    expect(parseLine(admittedLine(a, 123).slice(0, -1))).toEqual({ kind: "A", admitted: { ...a, at: 123 } });
    const record = {
      requestId: "req_x1", accountId: 3, orgId: null, userId: 7, keyId: null, keyLabel: "", keyPrefix: "", sourceIp: "", endpoint: "", model: "", stream: true,
      upstreamModel: "up\tmodel", channelId: null, status: 499, errorCode: "-", errorDetail: null, promptTokens: 1, completionTokens: 2, cachedTokens: 3,
      cacheWriteTokens: 4, tokensEstimated: true, ttfbMs: null, totalMs: 9, refused: false,
    };
    const parsed = parseLine(outcomeLine("P", { record, cost: 5, tokens: 3, shortfall: 1, at: 77 }).slice(0, -1));
    expect(parsed).toEqual({
      kind: "P", requestId: "req_x1", outcome: {
        record: { upstreamModel: "up\tmodel", channelId: null, status: 499, errorCode: "-", errorDetail: null, promptTokens: 1, completionTokens: 2, cachedTokens: 3, cacheWriteTokens: 4, tokensEstimated: true, ttfbMs: null, totalMs: 9 },
        cost: 5, tokens: 3, shortfall: 1, at: 77,
      },
    });
    // A line cut short has too few fields.
    expect(parseLine(admittedLine(a, 123).slice(0, 30))).toBeNull();
  });
});
