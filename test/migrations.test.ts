import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { applyMigrations } from "../db/migrate";
import { migrations } from "../db/migrations";

/** Migrations keep data: a database with users, keys, charges and usage from before accounts keeps all of it. */
describe("migration 0008: accounts", () => {
  test("every user gets a personal account with their balance and limits; ids, keys, ledger and usage carry over", () => {
    const db = new Database(":memory:", { strict: true });
    db.run("PRAGMA foreign_keys = ON");
    db.run("CREATE TABLE __relay_migrations (tag TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)");
    for (const m of migrations.filter((m) => m.tag < "0008")) {
      for (const s of m.sql.split("--> statement-breakpoint").map((x) => x.trim()).filter(Boolean)) db.run(s);
      db.run("INSERT INTO __relay_migrations VALUES (?, 0)", [m.tag]);
    }
    db.run("INSERT INTO users (name, credits, concurrency, monthly_tokens, created_at) VALUES ('alice', 100, 3, 0, 1), ('bob', 5, 7, 10, 2)");
    db.run("INSERT INTO api_keys (user_id, public_id, hash, ciphertext, label, created_at, spent) VALUES (1, 'AAAAAAAA', 'h1', 'c1', 'laptop', 1, 7), (2, 'BBBBBBBB', 'h2', 'c2', 'ci', 1, 0)");
    db.run("INSERT INTO ledger (at, user_id, kind, amount, balance_after, ref) VALUES (1, 1, 'grant', 107, 107, 'g1'), (2, 1, 'charge', -7, 100, 'r1'), (3, 2, 'grant', 5, 5, 'g2')");
    db.run("INSERT INTO usage_log (request_id, at, user_id, key_id, status, cost) VALUES ('r1', 2, 1, 1, 200, 7)");
    db.run("INSERT INTO token_usage (user_id, month, tokens) VALUES (1, '2026-12', 50)");

    expect(applyMigrations(db)).toContain("0008_accounts_and_orgs");
    expect(db.query("SELECT id, kind, name, credits, concurrency, monthly_tokens FROM accounts ORDER BY id").all()).toEqual([
      { id: 1, kind: "user", name: "alice", credits: 100, concurrency: 3, monthly_tokens: 0 },
      { id: 2, kind: "user", name: "bob", credits: 5, concurrency: 7, monthly_tokens: 10 },
    ]);
    expect(db.query("SELECT id, account_id FROM users ORDER BY id").all()).toEqual([{ id: 1, account_id: 1 }, { id: 2, account_id: 2 }]);
    expect(db.query("SELECT id, account_id, kind, user_id, hash, ciphertext, spent FROM api_keys ORDER BY id").all()).toEqual([
      { id: 1, account_id: 1, kind: "personal", user_id: 1, hash: "h1", ciphertext: "c1", spent: 7 },
      { id: 2, account_id: 2, kind: "personal", user_id: 2, hash: "h2", ciphertext: "c2", spent: 0 },
    ]);
    expect(db.query("SELECT account_id, sum(amount) AS s FROM ledger GROUP BY account_id").all()).toEqual([{ account_id: 1, s: 100 }, { account_id: 2, s: 5 }]);
    expect(db.query("SELECT account_id, user_id, key_label, cost FROM usage_log").all()).toEqual([{ account_id: 1, user_id: 1, key_label: "laptop", cost: 7 }]);
    expect(db.query("SELECT account_id, tokens FROM token_usage").all()).toEqual([{ account_id: 1, tokens: 50 }]);
    expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
    // The triggers that tell the key cache about changes exist again, for the new tables too.
    const triggers = db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'trigger'").all().map((r) => r.name);
    for (const t of ["api_keys_auth_update", "users_auth_update", "accounts_auth_update", "memberships_auth_insert"]) expect(triggers).toContain(t);
    // A balance can never go below zero, whatever writes it.
    expect(() => db.run("UPDATE accounts SET credits = -1 WHERE id = 1")).toThrow(/CHECK constraint failed/);
  });
});
