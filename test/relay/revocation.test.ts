import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { chat, eventually, post, relayWithMocks } from "../support/relay-fixture";
import { ledgerViolations, withDb } from "../support/limits-helpers";

/**
 * Revocations reach requests already running: a key disabled or deleted, a user disabled, a limit lowered.
 * Each running stream ends within a second with an error event and is charged for what it delivered.
 */
const root = join(import.meta.dir, "..", "..");
let f: Awaited<ReturnType<typeof relayWithMocks>> | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

/** A relay whose upstream drips a long stream (a chunk every 100 ms, 200 chunks: 20 s), and a priced model. */
async function rig() {
  f = await relayWithMocks(1);
  f.mocks[0]!.set({ behavior: "drip", delayMs: 100, chunks: 200 });
  await f.channel(f.mocks[0]!);
  await f.h.admin.prices.set("gpt-test", { inputPerMTok: 0, outputPerMTok: 1_000_000 });
  return f;
}

/** Starts a stream and reads it in the background until it ends; resolves with all text and when it ended. */
async function openStream(key: string, model = "gpt-test") {
  const res = await post(f!.h, key, "/v1/chat/completions", chat(model, { stream: true, max_tokens: 1000 }));
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const first = await reader.read();
  text += decoder.decode(first.value);
  const ended = (async () => {
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) return { text, at: performance.now() };
        text += decoder.decode(r.value, { stream: true });
      }
    } catch {
      return { text: `${text}\n[connection lost]`, at: performance.now() }; // a stream left open when the test's server stops
    }
  })();
  return { ended, soFar: () => text };
}

/** `relay admin …` as a person would run it, against the test server's socket; resolves when it has exited. */
async function cli(...args: string[]): Promise<number> {
  // Not spawnSync: the server runs in this process and must keep answering while the CLI waits for it.
  const p = Bun.spawn(["bun", join(root, "server/main.ts"), "admin", ...args], {
    env: { ...process.env, RELAY_DATA_DIR: f!.h.dataDir, RELAY_ADMIN_SOCKET: f!.h.socketPath },
    stdout: "pipe",
    stderr: "pipe",
  });
  if ((await p.exited) !== 0) throw new Error(`relay admin ${args.join(" ")}: ${await new Response(p.stderr).text()}`);
  return performance.now();
}

async function usageRow(requestId?: string) {
  const rows = (await f!.h.admin.usage({ limit: 20 })).data;
  return requestId ? rows.find((r) => r.requestId === requestId)! : rows[0]!;
}

describe("revocation ends running streams", () => {
  for (const [what, action] of [
    ["key disable", (keyId: number) => cli("key", "disable", String(keyId))],
    ["key delete", (keyId: number) => cli("key", "delete", String(keyId))],
    ["user disable", () => cli("user", "disable", "rev")],
  ] as const) {
    test(`${what}: the stream ends within a second with key_revoked and is charged for what it delivered`, async () => {
      await rig();
      const { key, keyId } = await f!.userWithKey("rev", { credits: 10_000 });
      const s = await openStream(key);
      await eventually(() => s.soFar().includes("tok3"), "a few chunks delivered");
      const started = performance.now();
      const returned = await action(keyId);
      const { text, at } = await s.ended;
      console.log(`${what}: the stream ended ${Math.round(at - started)} ms after the CLI started (it ran ${Math.round(returned - started)} ms)`);
      expect(at - returned).toBeLessThan(1000);
      expect(text).toContain('"code":"key_revoked"');
      expect(text).not.toContain("[DONE]");
      expect(text).not.toContain("tok150");
      await eventually(async () => (await f!.h.admin.usage({ limit: 1 })).data[0]?.errorCode === "key_revoked", "usage row written");
      const row = await usageRow();
      expect(row).toMatchObject({ status: 401, errorCode: "key_revoked", tokensEstimated: true });
      expect(row.completionTokens).toBeGreaterThan(0);
      expect(row.cost).toBe(row.completionTokens); // 1 credit per output token
      await eventually(() => f!.mocks[0]!.inFlight === 0, "upstream request aborted");
      expect(await ledgerViolations(f!.h)).toEqual([]);
    }, 30_000);
  }

  test("a key's model allow-list narrowed below the running model cuts its stream", async () => {
    await rig();
    const { key, keyId } = await f!.userWithKey("narrow", { credits: 10_000 });
    const s = await openStream(key);
    await f!.h.admin.keys.update(keyId, { models: ["other-model"] });
    const { text } = await s.ended;
    expect(text).toContain('"code":"key_revoked"');
    expect(text).toContain("may no longer use model");
  }, 30_000);

  test("lowering the concurrency cap ends the newest streams until the rest fit", async () => {
    await rig();
    const { key } = await f!.userWithKey("cap", { credits: 10_000, concurrency: 3 });
    const older = await openStream(key);
    const newer = await openStream(key);
    await f!.h.admin.users.update("cap", { concurrency: 1 });
    const { text } = await newer.ended;
    expect(text).toContain('"code":"concurrency_limit_exceeded"');
    await Bun.sleep(300);
    expect(older.soFar()).not.toContain('"error"');
    expect((await f!.h.admin.users.get("cap")).inFlight).toBe(1);
    await f!.h.admin.users.update("cap", { enabled: false }); // ends the other one too
    expect((await older.ended).text).toContain('"code":"key_revoked"');
  }, 30_000);

  test("lowering a key's spend limit below what its streams hold ends them", async () => {
    await rig();
    const { key, keyId } = await f!.userWithKey("spend", { credits: 10_000 });
    const s = await openStream(key); // holds 1000 credits (max_tokens 1000)
    await f!.h.admin.keys.update(keyId, { spendLimit: 10 });
    expect((await s.ended).text).toContain('"code":"key_spend_limit_exceeded"');
  }, 30_000);

  test("a request still waiting for its upstream answers 401 key_revoked at once, charged nothing", async () => {
    f = await relayWithMocks(1);
    f.mocks[0]!.set({ behavior: "slow", delayMs: 20_000 });
    await f.channel(f.mocks[0]!);
    const { key, keyId } = await f.userWithKey("waiting", { credits: 100 });
    const pending = post(f.h, key, "/v1/chat/completions", chat("gpt-test"));
    await eventually(() => f!.mocks[0]!.inFlight === 1, "upstream called");
    const revokedAt = performance.now();
    await f.h.admin.keys.update(keyId, { enabled: false });
    const res = await pending;
    expect(performance.now() - revokedAt).toBeLessThan(1000);
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe("key_revoked");
    await eventually(async () => (await f!.h.admin.usage({ limit: 1 })).data[0]?.errorCode === "key_revoked", "usage row");
    expect((await usageRow()).cost).toBe(0);
    await eventually(() => f!.mocks[0]!.inFlight === 0, "upstream request aborted");
  }, 30_000);

  // Another connection: sqlite3 on the file in embedded mode; in PostgreSQL modes, how a write from
  // another instance arrives.
  test("a change made by another connection to the database (sqlite3, another instance) reaches running streams too", async () => {
    await rig();
    const { key, keyId } = await f!.userWithKey("external", { credits: 10_000 });
    const s = await openStream(key);
    const at = await withDb(f!.h, async (q) => {
      const t = performance.now();
      await q("UPDATE api_keys SET enabled = FALSE WHERE id = ?", [keyId]);
      return t;
    }, { write: true });
    const ended = await s.ended;
    expect(ended.at - at).toBeLessThan(1000);
    expect(ended.text).toContain('"code":"key_revoked"');
  }, 30_000);

  test("another key of the same user keeps streaming", async () => {
    await rig();
    const { key, keyId } = await f!.userWithKey("two", { credits: 10_000, concurrency: 5 });
    const other = await f!.h.admin.keys.create({ user: "two", label: "second" });
    const a = await openStream(key);
    const b = await openStream(other.key);
    await f!.h.admin.keys.update(keyId, { enabled: false });
    expect((await a.ended).text).toContain("key_revoked");
    await Bun.sleep(300);
    expect(b.soFar()).not.toContain('"error"');
  }, 30_000);
});
