/**
 * The webhook stores' contract (WebhookStore and DeliveryStore in server/stores/types.ts) on both
 * implementations: SQLite (a temp file) and PostgreSQL (a fresh database on the real server of
 * test/support/services.ts). Kept beside contract.test.ts, in the same shape, as a file of its own. Then,
 * on PostgreSQL, two instances (two pools) claiming the same queue: never the same delivery at once.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SQL } from "bun";
import { openDb } from "../../db/client";
import { openPg } from "../../db/pg/client";
import { channelAad, keyAad } from "../../server/keyring/aad";
import { sqliteStores } from "../../server/stores/sqlite";
import { pgStores } from "../../server/stores/pg";
import type { AuditEntry, NewDelivery, Stores } from "../../server/stores/types";
import { freshDatabase } from "../support/services";

const T = 60_000;
const aads = { key: keyAad, channel: channelAad };
type Harness = { stores: Stores; more?: () => Promise<Stores>; close(): Promise<void> };

async function sqliteHarness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "relay-wh-stores-"));
  const db = openDb(join(dir, "relay.db"));
  return { stores: sqliteStores(db, aads), close: async () => { db.$client.close(); rmSync(dir, { recursive: true, force: true }); } };
}

async function pgHarness(): Promise<Harness> {
  const fresh = await freshDatabase();
  const pools: SQL[] = [];
  const instance = async () => {
    const { sql, db } = await openPg(fresh.url, { max: 5 });
    pools.push(sql);
    return pgStores(db, sql, aads);
  };
  return {
    stores: await instance(), more: instance,
    close: async () => {
      for (const p of pools) await p.close({ timeout: 0 }).catch(() => {});
      await fresh.drop();
    },
  };
}

const A = (action: string, target = "t"): AuditEntry => ({ actor: "admin:socket", action, target });
let n = 0;
const delivery = (webhookId: number, over: Partial<NewDelivery> = {}): NewDelivery => ({
  eventId: `evt_${++n}_${Math.random()}`, webhookId, type: "batch.completed", objectId: `batch_${n}`, payload: `{"n":${n}}`, nextAttemptAt: 0, ...over,
});

for (const [dialect, make] of [["sqlite", sqliteHarness], ["postgres", pgHarness]] as const) {
  describe(`${dialect} webhook stores`, () => {
    let h: Harness;
    let s: Stores;
    let account: number;
    beforeEach(async () => {
      h = await make();
      s = h.stores;
      account = (await s.users.create({ name: "ann", role: "user", enabled: true }, {}, A("user.create"))).accountId;
    }, T);
    afterEach(async () => {
      await h?.close();
    }, T);

    const hook = (over: { events?: string[]; creditsBelow?: number | null } = {}) =>
      s.webhooks.create({ accountId: account, url: "https://example.com/h", events: ["batch.completed"], creditsBelow: null, ...over }, (id) => `sealed:${id}`, (w) => A("webhook.create", `webhook:${w.id}`));

    test("create seals the secret for the row's id and audits; get and list are scoped to the account", async () => {
      const w = await hook();
      expect(w).toMatchObject({ accountId: account, events: ["batch.completed"], secretCiphertext: `sealed:${w.id}`, enabled: true, creditsArmed: true, failingSince: null });
      expect(await s.webhooks.get(w.id)).toEqual(w);
      expect(await s.webhooks.get(w.id, account)).toEqual(w);
      expect(await s.webhooks.get(w.id, account + 1)).toBeUndefined();
      expect(await s.webhooks.get(2 ** 40)).toBeUndefined();
      expect((await s.webhooks.list(account)).map((x) => x.id)).toEqual([w.id]);
      expect(await s.webhooks.list(account + 1)).toEqual([]);
      expect((await s.audit.list({}))[0]).toMatchObject({ action: "webhook.create", target: `webhook:${w.id}` });
    });

    test("rotate keeps the old ciphertext as the previous one; delete takes the deliveries; neither writes for another account", async () => {
      const w = await hook();
      expect(await s.webhooks.rotate(w.id, account + 1, () => "x", 1, A("webhook.rotate"))).toBeUndefined();
      const r = await s.webhooks.rotate(w.id, account, (id) => `new:${id}`, 123, A("webhook.rotate"));
      expect(r).toMatchObject({ secretCiphertext: `new:${w.id}`, previousSecretCiphertext: `sealed:${w.id}`, previousSecretUntil: 123 });
      await s.deliveries.enqueue([delivery(w.id)]);
      expect(await s.webhooks.delete(w.id, account + 1, A("webhook.delete"))).toBe(false);
      expect(await s.webhooks.delete(w.id, account, A("webhook.delete"))).toBe(true);
      expect(await s.deliveries.list({ limit: 10 })).toEqual([]);
      expect((await s.audit.list({})).map((a) => a.action)).toEqual(["webhook.delete", "webhook.rotate", "webhook.create", "user.create"]);
    });

    test("enqueue is idempotent per (webhook, type, object); claim leases due rows once until the lease runs out", async () => {
      const w = await hook();
      const now = Date.now();
      expect(await s.deliveries.enqueue([delivery(w.id, { objectId: "o1" }), delivery(w.id, { objectId: "o2", nextAttemptAt: now + 60_000 })])).toBe(2);
      expect(await s.deliveries.enqueue([delivery(w.id, { objectId: "o1" })])).toBe(0);
      expect(await s.deliveries.enqueue([delivery(w.id, { objectId: "o1", type: "batch.failed" })])).toBe(1);
      const first = await s.deliveries.claim("a", now, 1000, 10);
      expect(first.map((d) => d.objectId).sort()).toEqual(["o1", "o1"]); // o2 is not due
      expect(first.every((d) => d.leaseOwner === "a" && d.leaseUntil === now + 1000)).toBe(true);
      expect(await s.deliveries.claim("b", now + 999, 1000, 10)).toEqual([]);
      // A's lease ran out (it died): B takes the work, and A can no longer record on it.
      const taken = await s.deliveries.claim("b", now + 1000, 1000, 10);
      expect(taken).toHaveLength(2);
      const d = taken[0]!;
      const attempt = { at: now, status: 503, error: "HTTP 503", durationMs: 5 };
      expect(await s.deliveries.recordAttempt(d.id, "a", attempt, { status: "pending", nextAttemptAt: now + 5000 })).toBe(false);
      expect(await s.deliveries.recordAttempt(d.id, "b", attempt, { status: "pending", nextAttemptAt: now + 5000 })).toBe(true);
      const [listed] = (await s.deliveries.list({ webhookId: w.id, limit: 10 })).filter((x) => x.id === d.id);
      expect(listed).toMatchObject({ status: "pending", attempts: 1, lastStatus: 503, lastError: "HTTP 503", leaseOwner: null, nextAttemptAt: now + 5000, url: "https://example.com/h", accountId: account });
      expect((await s.deliveries.attempts(d.id)).map((a) => a.status)).toEqual([503, 503]); // both attempts are logged
      expect(await s.deliveries.recordAttempt(d.id, "b", { ...attempt, status: 200, error: null }, { status: "delivered", nextAttemptAt: now })).toBe(false); // lease released
    });

    test("the credits.low latch fires once until re-armed; disable fails what is pending and audits", async () => {
      const w = await hook({ events: ["credits.low"], creditsBelow: 10 });
      expect((await s.webhooks.watchingCredits()).map((x) => x.id)).toEqual([w.id]);
      expect(await s.webhooks.fireCreditsLow(w.id, delivery(w.id, { type: "credits.low", objectId: "acct@1" }))).toBe(true);
      expect(await s.webhooks.fireCreditsLow(w.id, delivery(w.id, { type: "credits.low", objectId: "acct@2" }))).toBe(false);
      expect((await s.deliveries.list({ webhookId: w.id, limit: 10 })).map((d) => d.objectId)).toEqual(["acct@1"]);
      expect(await s.webhooks.rearmCreditsLow(w.id)).toBe(true);
      expect(await s.webhooks.rearmCreditsLow(w.id)).toBe(false);
      expect(await s.webhooks.noteAttempt(w.id, false, 5)).toBe(5);
      expect(await s.webhooks.noteAttempt(w.id, false, 9)).toBe(5);
      expect(await s.webhooks.noteAttempt(w.id, true, 9)).toBeNull();
      await s.webhooks.disable(w.id, "kept failing", A("webhook.disable", `webhook:${w.id}`));
      expect(await s.webhooks.get(w.id)).toMatchObject({ enabled: false, disabledReason: "kept failing" });
      expect(await s.webhooks.enabledOf(account)).toEqual([]);
      expect(await s.webhooks.watchingCredits()).toEqual([]);
      expect((await s.deliveries.list({ webhookId: w.id, limit: 10 }))[0]).toMatchObject({ status: "failed", lastError: "endpoint disabled: kept failing" });
      expect((await s.audit.list({}))[0]).toMatchObject({ action: "webhook.disable" });
    });

    if (dialect === "postgres") {
      test("two instances claiming at once never lease the same delivery", async () => {
        const w = await hook();
        const now = Date.now();
        await s.deliveries.enqueue(Array.from({ length: 60 }, (_, i) => delivery(w.id, { objectId: `c${i}` })));
        const other = await h.more!();
        const claims = await Promise.all([...Array(6)].map((_, i) => (i % 2 ? other : s).deliveries.claim(`i${i}`, now, 60_000, 15)));
        const ids = claims.flat().map((d) => d.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.length).toBe(60);
      }, T);
    }
  });
}
