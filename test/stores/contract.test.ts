/**
 * The stores' contract (server/stores/types.ts), one suite run against both implementations: the embedded
 * one (SQLite, a temp file per test) and cluster mode's (PostgreSQL, a fresh database per test on the real
 * server of test/support/services.ts). Every method: what it returns, the order it lists in, the conflicts
 * it refuses with, and that a write's audit row is written with it, and not written when the write
 * changed nothing. Then, on PostgreSQL only, the rules that must hold between concurrent instances (two
 * pools on the same database): the last owner, the balance that never goes below zero, unique names.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SQL } from "bun";
import { openDb } from "../../db/client";
import * as sqliteSchema from "../../db/schema";
import { openPg } from "../../db/pg/client";
import * as pgSchema from "../../db/pg/schema";
import { channelAad, keyAad } from "../../server/keyring/aad";
import { sqliteStores } from "../../server/stores/sqlite";
import { pgStores } from "../../server/stores/pg";
import { StoreConflict, type AuditEntry, type Stores } from "../../server/stores/types";
import { freshDatabase, type FreshDatabase } from "../support/services";

const T = 60_000;
type UsageInsert = typeof sqliteSchema.usageLog.$inferInsert;

type Harness = {
  stores: Stores;
  /** Usage rows as the settlement writer would write them, with each dialect's drizzle schema. */
  insertUsage(rows: UsageInsert[]): Promise<void>;
  close(): Promise<void>;
};

const aads = { key: keyAad, channel: channelAad };

async function sqliteHarness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "relay-stores-"));
  const db = openDb(join(dir, "relay.db"));
  return {
    stores: sqliteStores(db, aads),
    insertUsage: async (rows) => void db.insert(sqliteSchema.usageLog).values(rows).run(),
    close: async () => {
      db.$client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A PostgreSQL database of its own, and any number of "instances" (pools with their stores) on it. */
async function pgDatabase() {
  const fresh: FreshDatabase = await freshDatabase();
  const pools: SQL[] = [];
  const instance = async (max = 10) => {
    const { sql, db } = await openPg(fresh.url, { max });
    pools.push(sql);
    return { sql, db, stores: pgStores(db, sql, aads) };
  };
  const close = async () => {
    for (const p of pools) await p.close({ timeout: 0 }).catch(() => {});
    await fresh.drop();
  };
  return { instance, close };
}

async function pgHarness(): Promise<Harness> {
  const d = await pgDatabase();
  try {
    const { db, stores } = await d.instance();
    return { stores, insertUsage: async (rows) => void (await db.insert(pgSchema.usageLog).values(rows)), close: d.close };
  } catch (e) {
    await d.close();
    throw e;
  }
}

const factories: [string, () => Promise<Harness>][] = [
  ["sqlite", sqliteHarness],
  ["postgres", pgHarness],
];

// ---- helpers ------------------------------------------------------------------------------------------------

const A = (action: string, target = "t", detail?: Record<string, unknown>): AuditEntry => ({ actor: "admin:socket", action, target, detail });

async function conflict(p: Promise<unknown>, kind: StoreConflict["kind"]): Promise<StoreConflict> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(StoreConflict);
  expect((err as StoreConflict).kind).toBe(kind);
  return err as StoreConflict;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The audit actions written so far, oldest first. */
async function actions(s: Stores): Promise<string[]> {
  return (await s.audit.list({ limit: 1000 })).map((r) => r.action).reverse();
}

async function user(s: Stores, name: string, role: "admin" | "user" = "user") {
  return s.users.create({ name, role, enabled: true }, {}, A("user.create", `user:${name}`));
}

const usageRow = (over: Partial<UsageInsert> & { requestId: string; at: number; accountId: number }): UsageInsert => ({ status: 200, ...over });

const ORG_DEFAULTS = { kind: "org" as const, credits: 0, concurrency: 3, monthlyTokens: 0, rpm: null, tpm: null, suspended: false, models: null, keyReveal: null };

// ---- the contract, on both -------------------------------------------------------------------------------

for (const [dialect, make] of factories) {
  describe(`${dialect} stores`, () => {
    let h: Harness;
    let s: Stores;
    beforeEach(async () => {
      h = await make();
      s = h.stores;
    }, T);
    afterEach(async () => {
      await h?.close();
    }, T);

    describe("audit", () => {
      test("record and list: newest first, limit, before; the actor's ip; detail defaults to {}", async () => {
        await s.audit.record(A("one"));
        await s.audit.record({ actor: { name: "user:alice", ip: "203.0.113.7" }, action: "two", target: "x", detail: { n: 1, list: ["a"] } });
        await s.audit.record(A("three"));
        const all = await s.audit.list({});
        expect(all.map((r) => r.action)).toEqual(["three", "two", "one"]);
        expect(all[1]).toEqual({ id: expect.any(Number), at: expect.any(Number), actor: "user:alice", action: "two", target: "x", detail: { n: 1, list: ["a"] }, ip: "203.0.113.7" });
        expect(all[2]!.detail).toEqual({});
        expect(all[2]!.ip).toBe("");
        expect(Math.abs(all[0]!.at - Date.now())).toBeLessThan(10_000);
        expect((await s.audit.list({ limit: 2 })).map((r) => r.action)).toEqual(["three", "two"]);
        expect((await s.audit.list({ before: all[0]!.id })).map((r) => r.action)).toEqual(["two", "one"]);
        expect((await s.audit.list({ before: all[1]!.id, limit: 5 })).map((r) => r.action)).toEqual(["one"]);
      });
    });

    describe("users", () => {
      test("create makes the user and a personal account named after them; byName, byId, list", async () => {
        const bob = await user(s, "bob");
        const alice = await s.users.create({ name: "alice", role: "admin", enabled: false }, { concurrency: 7, monthlyTokens: 1000 }, A("user.create", "user:alice"));
        expect(alice).toEqual({ id: expect.any(Number), name: "alice", enabled: false, role: "admin", accountId: expect.any(Number), passwordHash: null, createdAt: expect.any(Number) });
        const account = await s.accounts.get(alice.accountId);
        expect(account).toMatchObject({ id: alice.accountId, kind: "user", name: "alice", credits: 0, concurrency: 7, monthlyTokens: 1000, suspended: false });
        expect(await s.users.byName("alice")).toEqual(alice);
        expect(await s.users.byId(alice.id)).toEqual(alice);
        expect(await s.users.byName("nobody")).toBeUndefined();
        expect(await s.users.byId(999_999)).toBeUndefined();
        expect(await s.users.byId(Number.NaN)).toBeUndefined();
        expect((await s.users.list()).map((u) => u.name)).toEqual(["bob", "alice"]);
        expect(bob.id).toBeLessThan(alice.id);
        expect(await actions(s)).toEqual(["user.create", "user.create"]);
      });

      test("a taken name is NameTaken, and nothing is written", async () => {
        await user(s, "bob");
        await conflict(user(s, "bob"), "NameTaken");
        expect(await s.users.list()).toHaveLength(1);
        expect(await s.accounts.list("user")).toHaveLength(1);
        expect(await actions(s)).toEqual(["user.create"]);
      });

      test("update changes the user and their account in one write; an unknown user is undefined and unaudited", async () => {
        const bob = await user(s, "bob");
        const updated = await s.users.update(bob.id, { role: "admin", enabled: false, passwordHash: "argon" }, { concurrency: 9, rpm: 60 }, A("user.update"));
        expect(updated).toEqual({ ...bob, role: "admin", enabled: false, passwordHash: "argon" });
        expect(await s.accounts.get(bob.accountId)).toMatchObject({ concurrency: 9, rpm: 60, name: "bob" });
        expect(await s.users.update(bob.id, {}, {}, A("user.noop"))).toEqual(updated);
        expect(await s.users.update(999_999, { enabled: true }, {}, A("user.missing"))).toBeUndefined();
        expect(await actions(s)).toEqual(["user.create", "user.update", "user.noop"]);
      });
    });

    describe("accounts", () => {
      test("createOrg: zero balance, its first owner; get, find, list by kind in id order", async () => {
        const bob = await user(s, "bob");
        const acme = await s.accounts.createOrg({ kind: "org", name: "acme", models: ["gpt-4o"] }, bob.id, A("org.create", "org:acme"));
        expect(acme).toEqual({ ...ORG_DEFAULTS, id: expect.any(Number), name: "acme", models: ["gpt-4o"], createdAt: expect.any(Number) });
        const solo = await s.accounts.createOrg({ kind: "org", name: "solo", concurrency: 5, keyReveal: "never" }, null, A("org.create", "org:solo"));
        expect(solo).toMatchObject({ kind: "org", name: "solo", concurrency: 5, keyReveal: "never", credits: 0 });
        expect(await s.accounts.get(acme.id)).toEqual(acme);
        expect(await s.accounts.get(999_999)).toBeUndefined();
        expect(await s.accounts.find("org", "acme")).toEqual(acme);
        expect(await s.accounts.find("user", "acme")).toBeUndefined();
        expect(await s.accounts.find("user", "bob")).toMatchObject({ id: bob.accountId, kind: "user" });
        expect((await s.accounts.list("org")).map((a) => a.name)).toEqual(["acme", "solo"]);
        expect((await s.accounts.list("user")).map((a) => a.name)).toEqual(["bob"]);
        expect(await s.accounts.membership(acme.id, bob.id)).toEqual({ accountId: acme.id, userId: bob.id, role: "owner", monthlySpend: null, concurrency: null, rpm: null, tpm: null, createdAt: expect.any(Number) });
        expect(await s.accounts.members(solo.id)).toEqual([]);
        expect(await actions(s)).toEqual(["user.create", "org.create", "org.create"]);
      });

      test("createOrg refuses a taken org name (NameTaken, nothing written); a user's name is another kind", async () => {
        await user(s, "bob");
        await s.accounts.createOrg({ kind: "org", name: "acme" }, null, A("org.create"));
        await conflict(s.accounts.createOrg({ kind: "org", name: "acme" }, null, A("org.create.again")), "NameTaken");
        const bobOrg = await s.accounts.createOrg({ kind: "org", name: "bob" }, null, A("org.create.bob"));
        expect(bobOrg.kind).toBe("org");
        expect((await s.accounts.list("org")).map((a) => a.name)).toEqual(["acme", "bob"]);
        expect(await actions(s)).toEqual(["user.create", "org.create", "org.create.bob"]);
      });

      test("update: limits and settings, NameTaken for another org's name, undefined for an unknown id", async () => {
        const acme = await s.accounts.createOrg({ kind: "org", name: "acme" }, null, A("org.create"));
        const other = await s.accounts.createOrg({ kind: "org", name: "other" }, null, A("org.create"));
        const updated = await s.accounts.update(acme.id, { name: "acme2", rpm: 10, tpm: 1000, suspended: true, models: ["a", "b"], keyReveal: "always" }, A("org.update"));
        expect(updated).toEqual({ ...acme, name: "acme2", rpm: 10, tpm: 1000, suspended: true, models: ["a", "b"], keyReveal: "always" });
        expect(await s.accounts.get(acme.id)).toEqual(updated);
        expect(await s.accounts.update(acme.id, { name: "acme2", models: null }, A("org.update.same-name"))).toMatchObject({ name: "acme2", models: null });
        expect(await s.accounts.update(acme.id, {}, A("org.update.nothing"))).toMatchObject({ name: "acme2" });
        await conflict(s.accounts.update(other.id, { name: "acme2" }, A("org.update.taken")), "NameTaken");
        expect((await s.accounts.get(other.id))!.name).toBe("other");
        expect(await s.accounts.update(999_999, { rpm: 1 }, A("org.update.missing"))).toBeUndefined();
        expect(await actions(s)).toEqual(["org.create", "org.create", "org.update", "org.update.same-name", "org.update.nothing"]);
      });

      test("deleteOrg: HoldsCredits while it has a balance (or does not exist); then it goes with its memberships and keys", async () => {
        const bob = await user(s, "bob");
        const acme = await s.accounts.createOrg({ kind: "org", name: "acme" }, bob.id, A("org.create"));
        await s.ledger.apply({ accountId: acme.id, kind: "grant", amount: 50, ref: "g1" });
        const key = await s.keys.create({ accountId: acme.id, userId: bob.id, kind: "member", hash: "h-acme" }, () => null, A("key.create"));
        await conflict(s.accounts.deleteOrg(acme.id, A("org.delete.refused")), "HoldsCredits");
        expect(await s.accounts.get(acme.id)).toBeDefined();
        await conflict(s.accounts.deleteOrg(999_999, A("org.delete.missing")), "HoldsCredits");
        // A personal account is never deleted this way.
        await conflict(s.accounts.deleteOrg(bob.accountId, A("org.delete.user")), "HoldsCredits");
        await s.ledger.apply({ accountId: acme.id, kind: "adjust", amount: -50, ref: "g2" });
        await s.accounts.deleteOrg(acme.id, A("org.delete"));
        expect(await s.accounts.get(acme.id)).toBeUndefined();
        expect(await s.accounts.membership(acme.id, bob.id)).toBeUndefined();
        expect(await s.accounts.membershipsOf(bob.id)).toEqual([]);
        expect(await s.keys.get(key.id)).toBeUndefined();
        expect(await s.accounts.get(bob.accountId)).toBeDefined();
        expect(await actions(s)).toEqual(["user.create", "org.create", "key.create", "org.delete"]);
      });

      test("members in the order they joined, with names; membershipsOf lists orgs only, by id", async () => {
        const [ann, bob, cat] = [await user(s, "ann"), await user(s, "bob"), await user(s, "cat")];
        const acme = await s.accounts.createOrg({ kind: "org", name: "acme" }, cat.id, A("org.create"));
        await sleep(3);
        await s.accounts.addMember({ accountId: acme.id, userId: ann.id, role: "member", monthlySpend: 100, concurrency: 2, rpm: null, tpm: 500 }, A("member.add"));
        await sleep(3);
        await s.accounts.addMember({ accountId: acme.id, userId: bob.id, role: "billing", monthlySpend: null, concurrency: null, rpm: 5, tpm: null }, A("member.add"));
        const beta = await s.accounts.createOrg({ kind: "org", name: "beta" }, ann.id, A("org.create"));
        const members = await s.accounts.members(acme.id);
        expect(members.map((m) => [m.name, m.role])).toEqual([["cat", "owner"], ["ann", "member"], ["bob", "billing"]]);
        expect(members[1]).toEqual({ accountId: acme.id, userId: ann.id, role: "member", monthlySpend: 100, concurrency: 2, rpm: null, tpm: 500, createdAt: expect.any(Number), name: "ann" });
        const ofAnn = await s.accounts.membershipsOf(ann.id);
        expect(ofAnn.map((m) => [m.org.name, m.membership.role])).toEqual([["acme", "member"], ["beta", "owner"]]);
        expect(ofAnn[1]!.org).toEqual(beta);
        expect(await s.accounts.membershipsOf(999_999)).toEqual([]);
        expect(await s.accounts.members(999_999)).toEqual([]);
      });

      test("addMember returns the row; an existing member is AlreadyMember, unaudited", async () => {
        const [ann, bob] = [await user(s, "ann"), await user(s, "bob")];
        const acme = await s.accounts.createOrg({ kind: "org", name: "acme" }, ann.id, A("org.create"));
        const row = await s.accounts.addMember({ accountId: acme.id, userId: bob.id, role: "admin", monthlySpend: null, concurrency: null, rpm: null, tpm: null }, A("member.add"));
        expect(row).toEqual({ accountId: acme.id, userId: bob.id, role: "admin", monthlySpend: null, concurrency: null, rpm: null, tpm: null, createdAt: expect.any(Number) });
        await conflict(s.accounts.addMember({ accountId: acme.id, userId: bob.id, role: "member", monthlySpend: null, concurrency: null, rpm: null, tpm: null }, A("member.add.again")), "AlreadyMember");
        await conflict(s.accounts.addMember({ accountId: acme.id, userId: ann.id, role: "member", monthlySpend: null, concurrency: null, rpm: null, tpm: null }, A("member.add.owner")), "AlreadyMember");
        expect((await s.accounts.membership(acme.id, bob.id))!.role).toBe("admin");
        expect(await actions(s)).toEqual(["user.create", "user.create", "org.create", "member.add"]);
      });

      test("updateMember: fields and roles; LastOwner for demoting the only owner; undefined for a non-member", async () => {
        const [ann, bob] = [await user(s, "ann"), await user(s, "bob")];
        const acme = await s.accounts.createOrg({ kind: "org", name: "acme" }, ann.id, A("org.create"));
        await s.accounts.addMember({ accountId: acme.id, userId: bob.id, role: "member", monthlySpend: null, concurrency: null, rpm: null, tpm: null }, A("member.add"));
        const limited = await s.accounts.updateMember(acme.id, bob.id, { monthlySpend: 10, concurrency: 1, rpm: 2, tpm: 3 }, A("member.limits"));
        expect(limited).toMatchObject({ accountId: acme.id, userId: bob.id, role: "member", monthlySpend: 10, concurrency: 1, rpm: 2, tpm: 3 });
        await conflict(s.accounts.updateMember(acme.id, ann.id, { role: "admin" }, A("member.demote.last")), "LastOwner");
        // The only owner may keep their role, or have their limits changed.
        expect(await s.accounts.updateMember(acme.id, ann.id, { role: "owner", rpm: 9 }, A("member.owner.rpm"))).toMatchObject({ role: "owner", rpm: 9 });
        expect(await s.accounts.updateMember(acme.id, ann.id, {}, A("member.nothing"))).toMatchObject({ role: "owner", rpm: 9 });
        expect(await s.accounts.updateMember(acme.id, bob.id, { role: "owner" }, A("member.promote"))).toMatchObject({ role: "owner" });
        expect(await s.accounts.updateMember(acme.id, ann.id, { role: "billing" }, A("member.demote"))).toMatchObject({ role: "billing" });
        await conflict(s.accounts.updateMember(acme.id, bob.id, { role: "member" }, A("member.demote.last2")), "LastOwner");
        expect(await s.accounts.updateMember(acme.id, 999_999, { role: "member" }, A("member.missing"))).toBeUndefined();
        expect(await s.accounts.updateMember(999_999, ann.id, { role: "member" }, A("member.missing.org"))).toBeUndefined();
        expect(await actions(s)).toEqual(["user.create", "user.create", "org.create", "member.add", "member.limits", "member.owner.rpm", "member.nothing", "member.promote", "member.demote"]);
      });

      test("removeMember: true when removed, false for a non-member (unaudited), LastOwner for the only owner", async () => {
        const [ann, bob, cat] = [await user(s, "ann"), await user(s, "bob"), await user(s, "cat")];
        const acme = await s.accounts.createOrg({ kind: "org", name: "acme" }, ann.id, A("org.create"));
        for (const [u, role] of [[bob, "owner"], [cat, "member"]] as const) {
          await s.accounts.addMember({ accountId: acme.id, userId: u.id, role, monthlySpend: null, concurrency: null, rpm: null, tpm: null }, A("member.add"));
        }
        expect(await s.accounts.removeMember(acme.id, cat.id, A("member.remove.cat"))).toBe(true);
        expect(await s.accounts.removeMember(acme.id, cat.id, A("member.remove.cat.again"))).toBe(false);
        expect(await s.accounts.removeMember(acme.id, ann.id, A("member.remove.ann"))).toBe(true);
        await conflict(s.accounts.removeMember(acme.id, bob.id, A("member.remove.bob")), "LastOwner");
        expect((await s.accounts.members(acme.id)).map((m) => m.name)).toEqual(["bob"]);
        expect(await actions(s)).toEqual(["user.create", "user.create", "user.create", "org.create", "member.add", "member.add", "member.remove.cat", "member.remove.ann"]);
      });

      test("keyCount counts the org's keys", async () => {
        const bob = await user(s, "bob");
        const acme = await s.accounts.createOrg({ kind: "org", name: "acme" }, bob.id, A("org.create"));
        expect(await s.accounts.keyCount(acme.id)).toBe(0);
        await s.keys.create({ accountId: acme.id, userId: bob.id, kind: "member", hash: "h1" }, () => null, A("key.create"));
        await s.keys.create({ accountId: acme.id, userId: null, kind: "service", hash: "h2" }, () => null, A("key.create"));
        await s.keys.create({ accountId: bob.accountId, userId: bob.id, hash: "h3" }, () => null, A("key.create"));
        expect(await s.accounts.keyCount(acme.id)).toBe(2);
        expect(await s.accounts.keyCount(999_999)).toBe(0);
      });
    });

    describe("keys", () => {
      test("create seals with the new row's id; the audit entry may be made from the row; a write-once key keeps no ciphertext", async () => {
        const bob = await user(s, "bob");
        const sealed: number[] = [];
        const key = await s.keys.create(
          { accountId: bob.accountId, userId: bob.id, hash: "hash-1", publicId: "pub1", prefix: "rk_pub1", label: "ci", allowIps: ["10.0.0.0/8"], models: ["gpt-4o"], spendLimit: 500, rpm: 6, tpm: 7, scopes: ["chat"], expiresAt: 123 },
          (id) => (sealed.push(id), `sealed:${id}`),
          (row) => A("key.create", `key:${row.id}`, { label: row.label }),
        );
        expect(sealed).toEqual([key.id]);
        expect(key).toEqual({
          id: expect.any(Number), accountId: bob.accountId, kind: "personal", userId: bob.id, publicId: "pub1", prefix: "rk_pub1", hash: "hash-1",
          ciphertext: `sealed:${key.id}`, label: "ci", enabled: true, group: "either", allowIps: ["10.0.0.0/8"], expiresAt: 123, models: ["gpt-4o"],
          spendLimit: 500, rpm: 6, tpm: 7, spent: 0, scopes: ["chat"], createdAt: expect.any(Number), lastUsedAt: null,
        });
        expect(await s.keys.get(key.id)).toEqual(key);
        const once = await s.keys.create({ accountId: bob.accountId, userId: bob.id, hash: "hash-2" }, () => null, (row) => A("key.create", `key:${row.id}`));
        expect(once).toMatchObject({ ciphertext: null, allowIps: [], models: null, scopes: ["full"], label: "", group: "either" });
        expect((await s.keys.get(once.id))!.ciphertext).toBeNull();
        const audit = await s.audit.list({ limit: 2 });
        expect(audit.map((r) => r.target)).toEqual([`key:${once.id}`, `key:${key.id}`]);
        expect(audit[1]!.detail).toEqual({ label: "ci" });
      });

      test("a digest in use is DuplicateKey: no row, no audit", async () => {
        const bob = await user(s, "bob");
        await s.keys.create({ accountId: bob.accountId, userId: bob.id, hash: "same" }, (id) => `c${id}`, A("key.create"));
        await conflict(s.keys.create({ accountId: bob.accountId, userId: bob.id, hash: "same", label: "dup" }, (id) => `c${id}`, A("key.create.dup")), "DuplicateKey");
        expect(await s.keys.list({})).toHaveLength(1);
        expect(await actions(s)).toEqual(["user.create", "key.create"]);
      });

      test("get by id, within an account; list by account, by user, or all, in id order", async () => {
        const [ann, bob] = [await user(s, "ann"), await user(s, "bob")];
        const acme = await s.accounts.createOrg({ kind: "org", name: "acme" }, ann.id, A("org.create"));
        const k1 = await s.keys.create({ accountId: ann.accountId, userId: ann.id, hash: "k1" }, () => null, A("key.create"));
        const k2 = await s.keys.create({ accountId: acme.id, userId: ann.id, kind: "member", hash: "k2" }, () => null, A("key.create"));
        const k3 = await s.keys.create({ accountId: acme.id, userId: null, kind: "service", hash: "k3" }, () => null, A("key.create"));
        const k4 = await s.keys.create({ accountId: bob.accountId, userId: bob.id, hash: "k4" }, () => null, A("key.create"));
        expect(await s.keys.get(k2.id, acme.id)).toEqual(k2);
        expect(await s.keys.get(k2.id, ann.accountId)).toBeUndefined();
        expect(await s.keys.get(999_999)).toBeUndefined();
        expect(await s.keys.get(Number.NaN)).toBeUndefined();
        expect(await s.keys.get(2 ** 40)).toBeUndefined();
        const ids = (rows: { id: number }[]) => rows.map((r) => r.id);
        expect(ids(await s.keys.list({}))).toEqual([k1.id, k2.id, k3.id, k4.id]);
        expect(ids(await s.keys.list({ accountId: acme.id }))).toEqual([k2.id, k3.id]);
        expect(ids(await s.keys.list({ userId: ann.id }))).toEqual([k1.id, k2.id]);
        expect(ids(await s.keys.list({ accountId: acme.id, userId: ann.id }))).toEqual([k2.id]);
        expect(await s.keys.list({ accountId: 999_999 })).toEqual([]);
      });

      test("update and delete, each audited", async () => {
        const bob = await user(s, "bob");
        const k1 = await s.keys.create({ accountId: bob.accountId, userId: bob.id, hash: "k1" }, () => null, A("key.create"));
        const k2 = await s.keys.create({ accountId: bob.accountId, userId: bob.id, hash: "k2" }, () => null, A("key.create"));
        const k3 = await s.keys.create({ accountId: bob.accountId, userId: bob.id, hash: "k3" }, () => null, A("key.create"));
        await s.keys.update(k1.id, { label: "new", enabled: false, group: "official", allowIps: ["::1/128"], expiresAt: 5, models: ["m"], spendLimit: 9, rpm: 1, tpm: 2, scopes: ["models"] }, A("key.update"));
        expect(await s.keys.get(k1.id)).toEqual({ ...k1, label: "new", enabled: false, group: "official", allowIps: ["::1/128"], expiresAt: 5, models: ["m"], spendLimit: 9, rpm: 1, tpm: 2, scopes: ["models"] });
        await s.keys.update(k1.id, { models: null, expiresAt: null }, A("key.update.nulls"));
        expect(await s.keys.get(k1.id)).toMatchObject({ models: null, expiresAt: null, label: "new" });
        await s.keys.delete([k1.id, k3.id], A("key.delete"));
        expect((await s.keys.list({})).map((k) => k.id)).toEqual([k2.id]);
        await s.keys.delete([], A("key.delete.none"));
        expect(await actions(s)).toEqual(["user.create", "key.create", "key.create", "key.create", "key.update", "key.update.nulls", "key.delete", "key.delete.none"]);
      });

      test("rotate: the successor and the old key's sooner expiry in one write with its audit row; a missing key writes nothing", async () => {
        const bob = await user(s, "bob");
        const old = await s.keys.create({ accountId: bob.accountId, userId: bob.id, hash: "r-old", label: "ci", scopes: ["chat"] }, () => null, A("key.create"));
        const sealed: number[] = [];
        const r = await s.keys.rotate(old.id, { accountId: bob.accountId, userId: bob.id, hash: "r-new", label: "ci (rotated)", scopes: ["chat"], rpm: 3 },
          (id) => (sealed.push(id), `sealed:${id}`), 5_000, ({ key, old: o }) => A("key.rotate", `key:${o.id}`, { newKeyId: key.id, until: o.expiresAt }));
        expect(r!.old).toEqual({ ...old, expiresAt: 5_000 });
        expect(r!.key).toMatchObject({ accountId: bob.accountId, hash: "r-new", label: "ci (rotated)", rpm: 3, ciphertext: `sealed:${r!.key.id}`, spent: 0 });
        expect(sealed).toEqual([r!.key.id]);
        expect(await s.keys.get(old.id)).toEqual(r!.old);
        expect(await s.keys.get(r!.key.id)).toEqual(r!.key);
        expect((await s.audit.list({ limit: 1 }))[0]).toMatchObject({ action: "key.rotate", target: `key:${old.id}`, detail: { newKeyId: r!.key.id, until: 5_000 } });
        // An expiry already sooner than the overlap's end is kept.
        const again = await s.keys.rotate(old.id, { accountId: bob.accountId, userId: bob.id, hash: "r-newer" }, () => null, 9_000, A("key.rotate"));
        expect(again!.old.expiresAt).toBe(5_000);
        // A digest in use, or a key that is gone: nothing written, no audit.
        await conflict(s.keys.rotate(r!.key.id, { accountId: bob.accountId, userId: bob.id, hash: "r-old" }, () => null, 1, A("key.rotate.dup")), "DuplicateKey");
        expect((await s.keys.get(r!.key.id))!.expiresAt).toBeNull();
        expect(await s.keys.rotate(999_999, { accountId: bob.accountId, userId: bob.id, hash: "r-ghost" }, () => null, 1, A("key.rotate.ghost"))).toBeUndefined();
        expect(await s.keys.rotate(2 ** 40, { accountId: bob.accountId, userId: bob.id, hash: "r-ghost" }, () => null, 1, A("key.rotate.ghost"))).toBeUndefined();
        expect((await s.keys.list({})).map((k) => k.hash)).toEqual(["r-old", "r-new", "r-newer"]);
        expect(await actions(s)).toEqual(["user.create", "key.create", "key.rotate", "key.rotate"]);
      });

      test("credential: the key with its account, user and (in an org) membership", async () => {
        const [ann, bob] = [await user(s, "ann"), await user(s, "bob")];
        const acme = await s.accounts.createOrg({ kind: "org", name: "acme" }, ann.id, A("org.create"));
        const personal = await s.keys.create({ accountId: ann.accountId, userId: ann.id, hash: "d-personal" }, () => null, A("key.create"));
        const member = await s.keys.create({ accountId: acme.id, userId: ann.id, kind: "member", hash: "d-member" }, () => null, A("key.create"));
        const service = await s.keys.create({ accountId: acme.id, userId: null, kind: "service", hash: "d-service" }, () => null, A("key.create"));
        // A key whose user is not (or no longer) a member of the org: no membership.
        const stray = await s.keys.create({ accountId: acme.id, userId: bob.id, kind: "member", hash: "d-stray" }, () => null, A("key.create"));
        const annAccount = await s.accounts.get(ann.accountId);
        expect(await s.keys.credential("d-personal")).toEqual({ key: personal, account: annAccount!, user: ann, membership: null });
        expect(await s.keys.credential("d-member")).toEqual({ key: member, account: acme, user: ann, membership: (await s.accounts.membership(acme.id, ann.id))! });
        expect(await s.keys.credential("d-service")).toEqual({ key: service, account: acme, user: null, membership: null });
        expect(await s.keys.credential("d-stray")).toEqual({ key: stray, account: acme, user: bob, membership: null });
        expect(await s.keys.credential("nope")).toBeUndefined();
      });
    });

    describe("channels", () => {
      test("create seals with the new id; list in id order; get; update; delete; each audited", async () => {
        const ch = await s.channels.create({ name: "main", baseUrl: "https://api.example.com/v1", models: ["gpt-4o"], modelMap: { fast: "gpt-4o-mini" }, headers: { "x-a": "1" }, priority: 2 },
          (id) => `sealed:${id}`, (row) => A("channel.create", `channel:${row.id}`));
        expect(ch).toEqual({
          id: expect.any(Number), name: "main", type: "openai", apiVersion: null, group: "official", baseUrl: "https://api.example.com/v1", apiKeyCiphertext: `sealed:${ch.id}`,
          models: ["gpt-4o"], modelMap: { fast: "gpt-4o-mini" }, priority: 2, weight: 1, enabled: true, headers: { "x-a": "1" }, firstByteTimeoutMs: null, idleTimeoutMs: null, createdAt: expect.any(Number),
        });
        expect(await s.channels.get(ch.id)).toEqual(ch);
        expect(await s.channels.get(999_999)).toBeUndefined();
        expect(await s.channels.get(Number.NaN)).toBeUndefined();
        const az = await s.channels.create({ name: "azure", type: "azure", apiVersion: "2024-10-21", baseUrl: "https://x.openai.azure.com" }, (id) => `s${id}`, A("channel.create"));
        expect((await s.channels.list()).map((c) => c.id)).toEqual([ch.id, az.id]);
        await s.channels.update(ch.id, { name: "main2", enabled: false, weight: 3, models: [], firstByteTimeoutMs: 1500 }, A("channel.update"));
        expect(await s.channels.get(ch.id)).toEqual({ ...ch, name: "main2", enabled: false, weight: 3, models: [], firstByteTimeoutMs: 1500 });
        await s.channels.update(ch.id, { name: "main2" }, A("channel.update.same-name"));
        await s.channels.delete(az.id, A("channel.delete"));
        expect((await s.channels.list()).map((c) => c.name)).toEqual(["main2"]);
        expect((await s.audit.list({ limit: 100 })).at(-1)!.target).toBe(`channel:${ch.id}`);
        expect(await actions(s)).toEqual(["channel.create", "channel.create", "channel.update", "channel.update.same-name", "channel.delete"]);
      });

      test("a taken name is NameTaken on create and on update, unaudited", async () => {
        const a = await s.channels.create({ name: "a", baseUrl: "http://a" }, () => "x", A("channel.create"));
        await s.channels.create({ name: "b", baseUrl: "http://b" }, () => "x", A("channel.create"));
        await conflict(s.channels.create({ name: "a", baseUrl: "http://a2" }, () => "x", A("channel.create.dup")), "NameTaken");
        await conflict(s.channels.update(a.id, { name: "b" }, A("channel.update.dup")), "NameTaken");
        expect((await s.channels.list()).map((c) => c.name)).toEqual(["a", "b"]);
        expect(await actions(s)).toEqual(["channel.create", "channel.create"]);
      });
    });

    describe("prices", () => {
      test("set inserts or replaces; list by model; delete is false (and unaudited) when there was none", async () => {
        const p = await s.prices.set("gpt-4o", { inputPerMTok: 250, outputPerMTok: 1000, cachedInputPerMTok: 125, cacheWritePerMTok: null, perRequest: 0, batchDiscount: 50 }, A("price.set"));
        expect(p).toEqual({ model: "gpt-4o", inputPerMTok: 250, outputPerMTok: 1000, cachedInputPerMTok: 125, cacheWritePerMTok: null, perRequest: 0, batchDiscount: 50, updatedAt: expect.any(Number) });
        await s.prices.set("Claude", { inputPerMTok: 1, outputPerMTok: 2, cachedInputPerMTok: null, cacheWritePerMTok: null, perRequest: 0, batchDiscount: 50 }, A("price.set"));
        await s.prices.set("b-model", { inputPerMTok: 1, outputPerMTok: 2, cachedInputPerMTok: null, cacheWritePerMTok: null, perRequest: 0, batchDiscount: 50 }, A("price.set"));
        const again = await s.prices.set("gpt-4o", { inputPerMTok: 300, outputPerMTok: 1200, cachedInputPerMTok: null, cacheWritePerMTok: 400, perRequest: 7, batchDiscount: 20 }, A("price.set.again"));
        expect(again).toMatchObject({ model: "gpt-4o", inputPerMTok: 300, outputPerMTok: 1200, cachedInputPerMTok: null, cacheWritePerMTok: 400, perRequest: 7, batchDiscount: 20 });
        // Byte order (SQLite's BINARY collation): upper case first.
        expect((await s.prices.list()).map((r) => r.model)).toEqual(["Claude", "b-model", "gpt-4o"]);
        expect((await s.prices.list())[2]).toEqual(again);
        expect(await s.prices.delete("b-model", A("price.delete"))).toBe(true);
        expect(await s.prices.delete("b-model", A("price.delete.again"))).toBe(false);
        expect((await s.prices.list()).map((r) => r.model)).toEqual(["Claude", "gpt-4o"]);
        expect(await actions(s)).toEqual(["price.set", "price.set", "price.set", "price.set.again", "price.delete"]);
      });
    });

    describe("ledger", () => {
      test("apply moves the balance and appends a row; the balance always equals the sum of the ledger", async () => {
        const bob = await user(s, "bob");
        const g = await s.ledger.apply({ accountId: bob.accountId, userId: bob.id, kind: "grant", amount: 100, ref: "grant-1", actor: "admin:socket", note: "welcome" }, A("credits.grant"));
        expect(g).toEqual({
          applied: true,
          row: { id: expect.any(Number), at: expect.any(Number), accountId: bob.accountId, userId: bob.id, kind: "grant", amount: 100, balanceAfter: 100, ref: "grant-1", keyId: null, actor: "admin:socket", note: "welcome" },
        });
        const c = await s.ledger.apply({ accountId: bob.accountId, kind: "charge", amount: -30, ref: "req-1", keyId: 42 });
        expect(c.applied).toBe(true);
        expect(c.row).toMatchObject({ amount: -30, balanceAfter: 70, userId: null, keyId: 42, actor: "", note: "" });
        await s.ledger.apply({ accountId: bob.accountId, kind: "refund", amount: 5, ref: "req-1-refund" });
        const rows = await s.ledger.list(bob.accountId, 10);
        expect(rows.map((r) => r.ref)).toEqual(["req-1-refund", "req-1", "grant-1"]);
        expect((await s.accounts.get(bob.accountId))!.credits).toBe(75);
        expect(rows.reduce((n, r) => n + r.amount, 0)).toBe(75);
        expect(rows[0]!.balanceAfter).toBe(75);
        expect((await s.ledger.list(bob.accountId, 2)).map((r) => r.ref)).toEqual(["req-1-refund", "req-1"]);
        expect(await s.ledger.list(999_999, 10)).toEqual([]);
        // Only the entry given an audit entry is audited.
        expect(await actions(s)).toEqual(["user.create", "credits.grant"]);
      });

      test("idempotent by ref: a repeat returns the first row, applied false, and moves nothing", async () => {
        const bob = await user(s, "bob");
        const first = await s.ledger.apply({ accountId: bob.accountId, kind: "grant", amount: 100, ref: "same" }, A("credits.grant"));
        const again = await s.ledger.apply({ accountId: bob.accountId, kind: "grant", amount: 999, ref: "same" }, A("credits.grant.again"));
        expect(again).toEqual({ row: first.row, applied: false });
        // Even an entry that would overdraw, or names another account, is answered by the ref first.
        expect(await s.ledger.apply({ accountId: bob.accountId, kind: "adjust", amount: -1000, ref: "same" })).toEqual({ row: first.row, applied: false });
        expect(await s.ledger.apply({ accountId: 999_999, kind: "adjust", amount: 1, ref: "same" })).toEqual({ row: first.row, applied: false });
        expect((await s.accounts.get(bob.accountId))!.credits).toBe(100);
        expect(await s.ledger.list(bob.accountId, 10)).toHaveLength(1);
        expect(await actions(s)).toEqual(["user.create", "credits.grant"]);
      });

      test("Overdraft below zero (nothing written, unaudited); exactly to zero is fine; NoAccount for an unknown account", async () => {
        const bob = await user(s, "bob");
        await s.ledger.apply({ accountId: bob.accountId, kind: "grant", amount: 40, ref: "g" });
        const err = await conflict(s.ledger.apply({ accountId: bob.accountId, kind: "adjust", amount: -41, ref: "too-much" }, A("credits.adjust")), "Overdraft");
        expect(err.message).toBe("balance 40 cannot cover 41");
        expect((await s.accounts.get(bob.accountId))!.credits).toBe(40);
        expect((await s.ledger.list(bob.accountId, 10)).map((r) => r.ref)).toEqual(["g"]);
        // The refused ref was not used up.
        expect((await s.ledger.apply({ accountId: bob.accountId, kind: "adjust", amount: -40, ref: "too-much" })).row.balanceAfter).toBe(0);
        await conflict(s.ledger.apply({ accountId: 999_999, kind: "grant", amount: 1, ref: "nobody" }, A("credits.nobody")), "NoAccount");
        await conflict(s.ledger.apply({ accountId: bob.accountId, kind: "charge", amount: -1, ref: "empty" }), "Overdraft");
        expect(await actions(s)).toEqual(["user.create"]);
      });
    });

    describe("usage", () => {
      const DAY1 = Date.UTC(2025, 2, 9); // 2025-03-09T00:00:00Z
      const H = 3_600_000;

      async function seed(accountId: number, otherAccount: number) {
        await h.insertUsage([
          usageRow({ requestId: "r1", at: DAY1 - 1, accountId, userId: 1, keyId: 10, promptTokens: 1, completionTokens: 2, cost: 3 }), // 2025-03-08T23:59:59.999Z
          usageRow({ requestId: "r2", at: DAY1, accountId, userId: 1, keyId: 10, promptTokens: 10, completionTokens: 20, cachedTokens: 5, cacheWriteTokens: 1, cost: 30 }),
          usageRow({ requestId: "r3", at: DAY1 + 2 * H + 5, accountId, userId: 2, keyId: 11, promptTokens: 100, completionTokens: 200, cost: 300, stream: true, tokensEstimated: true }),
          usageRow({ requestId: "r4", at: DAY1 + 2 * H + 5, accountId, userId: 1, keyId: 10, promptTokens: 1000, completionTokens: 2000, cost: 3000, status: 429, errorCode: "rate_limited" }),
          usageRow({ requestId: "r5", at: DAY1 + 26 * H, accountId: otherAccount, userId: 3, keyId: 12, promptTokens: 7, completionTokens: 7, cost: 7 }),
          usageRow({ requestId: "r6", at: DAY1 + 25 * H, accountId, userId: 1, keyId: 10, cost: 0 }),
        ]);
      }

      test("list: newest first by time then id, filtered by user, account, key, time range and before", async () => {
        await seed(1, 2);
        const reqs = (rows: { requestId: string }[]) => rows.map((r) => r.requestId);
        const all = await s.usage.list({}, 100);
        expect(reqs(all)).toEqual(["r5", "r6", "r4", "r3", "r2", "r1"]);
        expect(all.find((r) => r.requestId === "r3")).toMatchObject({ stream: true, tokensEstimated: true, status: 200, errorCode: null, keyLabel: "", ttfbMs: null, shortfall: 0 });
        expect(all.find((r) => r.requestId === "r4")).toMatchObject({ stream: false, status: 429, errorCode: "rate_limited", promptTokens: 1000 });
        expect(reqs(await s.usage.list({}, 2))).toEqual(["r5", "r6"]);
        expect(reqs(await s.usage.list({ userId: 1 }, 100))).toEqual(["r6", "r4", "r2", "r1"]);
        expect(reqs(await s.usage.list({ accountId: 2 }, 100))).toEqual(["r5"]);
        expect(reqs(await s.usage.list({ keyId: 11 }, 100))).toEqual(["r3"]);
        expect(reqs(await s.usage.list({ from: DAY1, to: DAY1 + 25 * H }, 100))).toEqual(["r4", "r3", "r2"]);
        const r4 = all.find((r) => r.requestId === "r4")!;
        expect(reqs(await s.usage.list({ userId: 1, before: r4.id }, 100))).toEqual(["r2", "r1"]);
        expect(await s.usage.list({ userId: 2 ** 40 }, 100)).toEqual([]);
      });

      test("daily: per UTC day, oldest first, totals as numbers", async () => {
        await seed(1, 2);
        expect(await s.usage.daily({ accountId: 1 })).toEqual([
          { day: "2025-03-08", requests: 1, promptTokens: 1, completionTokens: 2, cachedTokens: 0, cacheWriteTokens: 0, cost: 3 },
          { day: "2025-03-09", requests: 3, promptTokens: 1110, completionTokens: 2220, cachedTokens: 5, cacheWriteTokens: 1, cost: 3330 },
          { day: "2025-03-10", requests: 1, promptTokens: 0, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, cost: 0 },
        ]);
        expect(await s.usage.daily({ keyId: 11, from: DAY1 })).toEqual([{ day: "2025-03-09", requests: 1, promptTokens: 100, completionTokens: 200, cachedTokens: 0, cacheWriteTokens: 0, cost: 300 }]);
        expect(await s.usage.daily({ userId: 99 })).toEqual([]);
      });

      test("hourly: one key's requests and tokens per hour since the epoch in [from, to)", async () => {
        await seed(1, 2);
        const h0 = Math.floor(DAY1 / H);
        const rows = await s.usage.hourly(10, DAY1 - H, DAY1 + 26 * H);
        expect([...rows].sort((a, b) => a.h - b.h)).toEqual([
          { h: h0 - 1, requests: 1, tokens: 3 },
          { h: h0, requests: 1, tokens: 30 },
          { h: h0 + 2, requests: 1, tokens: 3000 },
          { h: h0 + 25, requests: 1, tokens: 0 },
        ]);
        expect(await s.usage.hourly(10, DAY1, DAY1 + 2 * H + 5)).toEqual([{ h: h0, requests: 1, tokens: 30 }]);
        expect(await s.usage.hourly(12, DAY1, DAY1 + H)).toEqual([]);
      });
    });

    describe("settings and secrets", () => {
      test("get; putIfAbsent writes only the first value and returns the stored one", async () => {
        expect(await s.settings.get("session.secret")).toBeUndefined();
        expect(await s.settings.putIfAbsent("session.secret", "first")).toBe("first");
        expect(await s.settings.putIfAbsent("session.secret", "second")).toBe("first");
        expect(await s.settings.get("session.secret")).toBe("first");
      });

      test("reencryptAll reseals every stored key and channel and the settings named; counts them; records the keyring and the audit", async () => {
        const bob = await user(s, "bob");
        const acme = await s.accounts.createOrg({ kind: "org", name: "acme" }, bob.id, A("org.create"));
        const k1 = await s.keys.create({ accountId: bob.accountId, userId: bob.id, hash: "k1" }, (id) => `old(${keyAad(id, bob.accountId)})`, A("key.create"));
        const k2 = await s.keys.create({ accountId: acme.id, userId: null, kind: "service", hash: "k2" }, () => null, A("key.create"));
        const k3 = await s.keys.create({ accountId: acme.id, userId: bob.id, kind: "member", hash: "k3" }, (id) => `old(${keyAad(id, acme.id)})`, A("key.create"));
        const ch = await s.channels.create({ name: "main", baseUrl: "http://x" }, (id) => `old(${channelAad(id)})`, A("channel.create"));
        await s.settings.putIfAbsent("session.secret", "old(session)");
        await s.settings.putIfAbsent("other", "plain");
        const calls: string[] = [];
        const reseal = (c: string, aad: string) => (calls.push(aad), `new[${c}|${aad}]`);
        const n = await s.secrets.reencryptAll(reseal, { "session.secret": "session", "absent.secret": "absent" }, "kr-2", (count) => A("keyring.rotate", "keyring:kr-2", { count }));
        expect(n).toBe(3);
        expect(calls.sort()).toEqual([keyAad(k1.id, bob.accountId), keyAad(k3.id, acme.id), channelAad(ch.id), "session"].sort());
        expect((await s.keys.get(k1.id))!.ciphertext).toBe(`new[old(${keyAad(k1.id, bob.accountId)})|${keyAad(k1.id, bob.accountId)}]`);
        expect((await s.keys.get(k2.id))!.ciphertext).toBeNull();
        expect((await s.keys.get(k3.id))!.ciphertext).toBe(`new[old(${keyAad(k3.id, acme.id)})|${keyAad(k3.id, acme.id)}]`);
        expect((await s.channels.get(ch.id))!.apiKeyCiphertext).toBe(`new[old(${channelAad(ch.id)})|${channelAad(ch.id)}]`);
        expect(await s.settings.get("session.secret")).toBe("new[old(session)|session]");
        expect(await s.settings.get("other")).toBe("plain");
        expect(await s.settings.get("absent.secret")).toBeUndefined();
        expect(await s.settings.get("keyring.current")).toBe("kr-2");
        const [last] = await s.audit.list({ limit: 1 });
        expect(last).toMatchObject({ action: "keyring.rotate", target: "keyring:kr-2", detail: { count: 3 } });
        // Again: keyring.current is replaced, not duplicated.
        expect(await s.secrets.reencryptAll((c) => c, {}, "kr-3", (count) => A("keyring.rotate.again", "", { count }))).toBe(3);
        expect(await s.settings.get("keyring.current")).toBe("kr-3");
      });

      test("reencryptAll over more keys than one write batch: every one resealed with its own AAD", async () => {
        const bob = await user(s, "bob");
        const ids: number[] = [];
        for (let i = 0; i < 520; i++) ids.push((await s.keys.create({ accountId: bob.accountId, userId: bob.id, hash: `k${i}` }, (id) => `c${id}`, A("key.create"))).id);
        expect(await s.secrets.reencryptAll((c, aad) => `${c}+${aad}`, {}, "kr-2", (count) => A("keyring.rotate", "", { count }))).toBe(520);
        const keys = await s.keys.list({});
        expect(keys.map((k) => k.ciphertext)).toEqual(ids.map((id) => `c${id}+${keyAad(id, bob.accountId)}`));
      }, T);

      test("reencryptAll is all or nothing: a reseal that throws leaves every ciphertext and the keyring as they were", async () => {
        const bob = await user(s, "bob");
        const k1 = await s.keys.create({ accountId: bob.accountId, userId: bob.id, hash: "k1" }, () => "c1", A("key.create"));
        await s.channels.create({ name: "main", baseUrl: "http://x" }, () => "c2", A("channel.create"));
        await s.settings.putIfAbsent("keyring.current", "kr-1");
        let n = 0;
        const failing = (c: string) => {
          if (++n === 2) throw new Error("bad key");
          return `new-${c}`;
        };
        await expect(s.secrets.reencryptAll(failing, {}, "kr-2", () => A("keyring.rotate"))).rejects.toThrow("bad key");
        expect((await s.keys.get(k1.id))!.ciphertext).toBe("c1");
        expect((await s.channels.list())[0]!.apiKeyCiphertext).toBe("c2");
        expect(await s.settings.get("keyring.current")).toBe("kr-1");
        expect(await actions(s)).toEqual(["user.create", "key.create", "channel.create"]);
      });
    });
  });
}

// ---- PostgreSQL only: two instances racing on one database ----------------------------------------------------

describe("postgres stores under concurrency (two instances, one database)", () => {
  let d: Awaited<ReturnType<typeof pgDatabase>>;
  let one: Stores;
  let two: Stores;
  let twoSql: SQL;
  beforeEach(async () => {
    d = await pgDatabase();
    one = (await d.instance()).stores;
    const second = await d.instance();
    two = second.stores;
    twoSql = second.sql;
  }, T);
  afterEach(async () => {
    await d?.close();
  }, T);

  const settle = (ps: Promise<unknown>[]) => Promise.allSettled(ps);
  const kinds = (rs: PromiseSettledResult<unknown>[]) =>
    rs.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => (r.reason instanceof StoreConflict ? r.reason.kind : String(r.reason)));

  test("removing both of the two last owners at once: exactly one succeeds, the other is LastOwner", async () => {
    for (let round = 0; round < 5; round++) {
      const [ann, bob] = [await user(one, `ann${round}`), await user(one, `bob${round}`)];
      const org = await one.accounts.createOrg({ kind: "org", name: `acme${round}` }, ann.id, A("org.create"));
      await one.accounts.addMember({ accountId: org.id, userId: bob.id, role: "owner", monthlySpend: null, concurrency: null, rpm: null, tpm: null }, A("member.add"));
      const rs = await settle([one.accounts.removeMember(org.id, ann.id, A("member.remove")), two.accounts.removeMember(org.id, bob.id, A("member.remove"))]);
      expect(rs.filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<boolean>).value)).toEqual([true]);
      expect(kinds(rs)).toEqual(["LastOwner"]);
      const members = await one.accounts.members(org.id);
      expect(members.map((m) => m.role)).toEqual(["owner"]);
    }
    expect((await one.audit.list({ limit: 1000 })).filter((r) => r.action === "member.remove")).toHaveLength(5);
  }, T);

  test("demoting both of the two last owners at once: exactly one succeeds, the other is LastOwner", async () => {
    for (let round = 0; round < 5; round++) {
      const [ann, bob] = [await user(one, `ann${round}`), await user(one, `bob${round}`)];
      const org = await one.accounts.createOrg({ kind: "org", name: `acme${round}` }, ann.id, A("org.create"));
      await one.accounts.addMember({ accountId: org.id, userId: bob.id, role: "owner", monthlySpend: null, concurrency: null, rpm: null, tpm: null }, A("member.add"));
      const rs = await settle([
        one.accounts.updateMember(org.id, ann.id, { role: "admin" }, A("member.demote")),
        two.accounts.updateMember(org.id, bob.id, { role: "member" }, A("member.demote")),
      ]);
      expect(rs.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      expect(kinds(rs)).toEqual(["LastOwner"]);
      expect((await one.accounts.members(org.id)).filter((m) => m.role === "owner")).toHaveLength(1);
    }
  }, T);

  test("20 concurrent charges of 10 on a balance of 100: exactly 10 apply, the balance ends at 0 and equals the ledger's sum", async () => {
    const bob = await user(one, "bob");
    await one.ledger.apply({ accountId: bob.accountId, kind: "grant", amount: 100, ref: "grant" });
    const rs = await settle(Array.from({ length: 20 }, (_, i) =>
      (i % 2 ? one : two).ledger.apply({ accountId: bob.accountId, kind: "adjust", amount: -10, ref: `take-${i}` }, A("credits.adjust"))));
    expect(rs.filter((r) => r.status === "fulfilled" && (r.value as { applied: boolean }).applied)).toHaveLength(10);
    expect(kinds(rs)).toEqual(Array(10).fill("Overdraft"));
    expect((await one.accounts.get(bob.accountId))!.credits).toBe(0);
    const rows = await one.ledger.list(bob.accountId, 100);
    expect(rows).toHaveLength(11);
    expect(rows.reduce((n, r) => n + r.amount, 0)).toBe(0);
    // Each row's balanceAfter follows from the one before it.
    const ordered = [...rows].reverse();
    for (let i = 1; i < ordered.length; i++) expect(ordered[i]!.balanceAfter).toBe(ordered[i - 1]!.balanceAfter + ordered[i]!.amount);
    expect((await one.audit.list({ limit: 100 })).filter((r) => r.action === "credits.adjust")).toHaveLength(10);
  }, T);

  test("the same ref applied concurrently (same or different accounts): one row, one balance move", async () => {
    const [ann, bob] = [await user(one, "ann"), await user(one, "bob")];
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      (i % 2 ? one : two).ledger.apply({ accountId: i % 3 ? ann.accountId : bob.accountId, kind: "grant", amount: 5, ref: "once" }, A("credits.grant"))));
    expect(rs.filter((r) => r.applied)).toHaveLength(1);
    const winner = rs.find((r) => r.applied)!.row;
    for (const r of rs) expect(r.row).toEqual(winner);
    const credits = (await one.accounts.get(ann.accountId))!.credits + (await one.accounts.get(bob.accountId))!.credits;
    expect(credits).toBe(5);
    expect((await one.audit.list({ limit: 100 })).filter((r) => r.action === "credits.grant")).toHaveLength(1);
  }, T);

  test("createOrg with the same name at once: one succeeds, the rest are NameTaken", async () => {
    const rs = await settle(Array.from({ length: 8 }, (_, i) => (i % 2 ? one : two).accounts.createOrg({ kind: "org", name: "acme" }, null, A("org.create"))));
    expect(rs.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(kinds(rs)).toEqual(Array(7).fill("NameTaken"));
    expect((await one.accounts.list("org")).map((a) => a.name)).toEqual(["acme"]);
    expect((await one.audit.list({ limit: 100 })).filter((r) => r.action === "org.create")).toHaveLength(1);
  }, T);

  test("users.create, channels.create and keys.create racing on one name or digest: one succeeds, the rest are refused", async () => {
    const users = await settle(Array.from({ length: 6 }, (_, i) => user(i % 2 ? one : two, "same")));
    expect(kinds(users)).toEqual(Array(5).fill("NameTaken"));
    const chans = await settle(Array.from({ length: 6 }, (_, i) => (i % 2 ? one : two).channels.create({ name: "main", baseUrl: "http://x" }, () => "c", A("channel.create"))));
    expect(kinds(chans)).toEqual(Array(5).fill("NameTaken"));
    const owner = (await one.users.byName("same"))!;
    const keys = await settle(Array.from({ length: 6 }, (_, i) => (i % 2 ? one : two).keys.create({ accountId: owner.accountId, userId: owner.id, hash: "digest" }, () => null, A("key.create"))));
    expect(kinds(keys)).toEqual(Array(5).fill("DuplicateKey"));
    expect(await one.keys.list({})).toHaveLength(1);
    expect(await actions(one)).toEqual(["user.create", "channel.create", "key.create"]);
  }, T);

  test("deleteOrg racing a grant: either the org is gone and the grant found no account, or the grant landed and the delete was refused", async () => {
    for (let round = 0; round < 10; round++) {
      const org = await one.accounts.createOrg({ kind: "org", name: `acme${round}` }, null, A("org.create"));
      const [del, grant] = await settle([
        one.accounts.deleteOrg(org.id, A("org.delete")),
        two.ledger.apply({ accountId: org.id, kind: "grant", amount: 10, ref: `g${round}` }),
      ]);
      const after = await one.accounts.get(org.id);
      if (del.status === "fulfilled") {
        expect(after).toBeUndefined();
        expect(grant.status === "rejected" && (grant.reason as StoreConflict).kind).toBe("NoAccount");
      } else {
        expect((del.reason as StoreConflict).kind).toBe("HoldsCredits");
        expect(grant.status).toBe("fulfilled");
        expect(after!.credits).toBe(10);
      }
    }
  }, T);

  test("a rotation that starts while another instance is changing a channel's key waits for it, and reseals the new key (no lost update)", async () => {
    const ch = await one.channels.create({ name: "main", baseUrl: "http://x" }, () => "old", A("channel.create"));
    const key = await one.keys.create({ accountId: (await user(one, "bob")).accountId, hash: "k" }, () => "key-old", A("key.create"));
    let rotation: Promise<number> | undefined;
    await twoSql.begin(async (tx) => {
      await tx`UPDATE channels SET api_key_ciphertext = 'changed' WHERE id = ${ch.id}`;
      rotation = one.secrets.reencryptAll((c) => `new(${c})`, {}, "kr-2", (count) => A("keyring.rotate", "", { count }));
      await sleep(300);
      // Still waiting for the channel writer to commit: nothing resealed yet.
      expect((await one.keys.get(key.id))!.ciphertext).toBe("key-old");
    });
    expect(await rotation!).toBe(2);
    expect((await one.channels.get(ch.id))!.apiKeyCiphertext).toBe("new(changed)");
    expect((await one.keys.get(key.id))!.ciphertext).toBe("new(key-old)");
  }, T);

  test("putIfAbsent racing on one key: every caller gets the one value stored", async () => {
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? one : two).settings.putIfAbsent("session.secret", `v${i}`)));
    expect(new Set(rs).size).toBe(1);
    expect(await one.settings.get("session.secret")).toBe(rs[0]);
  }, T);
});
