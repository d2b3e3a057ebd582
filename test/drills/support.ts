/**
 * Shared by the fault and crash drills: named checks with a summary and exit code, a seeded random
 * source, the accounting invariants read straight from the database, and waiting for a user to settle.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import type { AdminClient } from "../../tui/client";

export type Check = { name: string; ok: boolean; detail: string };

/** Collects check results; `report` prints them and gives the process exit code. */
export class Checks {
  readonly list: Check[] = [];

  add(name: string, ok: boolean, detail = ""): boolean {
    this.list.push({ name, ok, detail });
    if (!ok) console.log(`  FAIL ${name}${detail ? `: ${detail}` : ""}`);
    return ok;
  }

  get failed(): Check[] {
    return this.list.filter((c) => !c.ok);
  }

  report(title: string): number {
    // Repeated checks (one per crash, say) are folded into one line each.
    const byName = new Map<string, { ok: number; fail: number; details: string[] }>();
    for (const c of this.list) {
      const e = byName.get(c.name) ?? { ok: 0, fail: 0, details: [] };
      if (c.ok) e.ok++;
      else {
        e.fail++;
        if (c.detail) e.details.push(c.detail);
      }
      byName.set(c.name, e);
    }
    console.log(`\n${title}`);
    for (const [name, e] of byName) {
      const times = e.ok + e.fail > 1 ? ` (${e.ok}/${e.ok + e.fail})` : "";
      console.log(`  ${e.fail ? "FAIL" : "ok  "}  ${name}${times}${e.fail && e.details.length ? `: ${e.details.slice(0, 3).join("; ")}` : ""}`);
    }
    const failed = [...byName.values()].filter((e) => e.fail > 0).length;
    console.log(failed ? `\n${failed} of ${byName.size} checks FAILED` : `\nall ${byName.size} checks passed`);
    return failed ? 1 : 0;
  }
}

/** mulberry32: a small seeded generator, so a failing run can be repeated with the same choices. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function openDb(dataDir: string): Database {
  return new Database(join(dataDir, "relay.db"), { readonly: true });
}

const count = (db: Database, sql: string): number => db.query<{ n: number }, []>(sql).get()!.n;

/**
 * The accounting invariants, each as a check: one ledger row per ref; every balance equals its ledger's
 * sum; every charged usage row has exactly one matching charge and every charge a usage row; key spend,
 * monthly tokens and org members' monthly spend equal what the usage log adds up to; SQLite finds the file intact.
 */
export function accountingChecks(db: Database, checks: Checks, label = ""): void {
  const p = label ? `${label}: ` : "";
  const dupRefs = count(db, "SELECT count(*) AS n FROM (SELECT ref FROM ledger GROUP BY ref HAVING count(*) > 1)");
  checks.add(`${p}ledger refs are unique`, dupRefs === 0, `${dupRefs} refs appear more than once`);

  const off = db.query<{ id: number; credits: number; sum: number }, []>(
    "SELECT a.id, a.credits, coalesce((SELECT sum(amount) FROM ledger l WHERE l.account_id = a.id), 0) AS sum FROM accounts a",
  ).all().filter((r) => r.credits !== r.sum);
  checks.add(`${p}every balance equals the sum of its ledger`, off.length === 0, off.map((r) => `account ${r.id}: credits ${r.credits}, ledger ${r.sum}`).join(", "));
  const negative = count(db, "SELECT count(*) AS n FROM accounts WHERE credits < 0");
  checks.add(`${p}no balance is below zero`, negative === 0, `${negative} accounts below zero`);

  const unmatched = count(db, `SELECT count(*) AS n FROM usage_log u WHERE u.cost > 0 AND
    (SELECT count(*) FROM ledger l WHERE l.ref = u.request_id AND l.kind = 'charge' AND l.amount = -u.cost AND l.account_id = u.account_id) <> 1`);
  checks.add(`${p}every charged request has exactly one matching ledger charge`, unmatched === 0, `${unmatched} usage rows without exactly one charge`);

  const orphans = count(db, `SELECT count(*) AS n FROM ledger l WHERE l.kind = 'charge' AND NOT EXISTS
    (SELECT 1 FROM usage_log u WHERE u.request_id = l.ref AND u.cost = -l.amount)`);
  checks.add(`${p}every ledger charge belongs to a logged request`, orphans === 0, `${orphans} charges without a usage row`);

  // Work that finished later (a background response, a batch) gives its key back what it refunded.
  const spentOff = count(db, `SELECT count(*) AS n FROM api_keys k WHERE k.spent <>
    coalesce((SELECT -sum(amount) FROM ledger l WHERE l.key_id = k.id AND l.kind IN ('charge', 'refund')), 0)`);
  checks.add(`${p}every key's spend equals its charges less its refunds`, spentOff === 0, `${spentOff} keys off`);

  const tokensOff = count(db, `SELECT count(*) AS n FROM accounts a WHERE
    coalesce((SELECT sum(tokens) FROM token_usage t WHERE t.account_id = a.id), 0) <>
    coalesce((SELECT sum(prompt_tokens + completion_tokens) FROM usage_log g WHERE g.account_id = a.id), 0) +
    coalesce((SELECT sum(o.used_tokens) FROM objects o WHERE o.account_id = a.id AND o.settled_at IS NOT NULL), 0)`);
  checks.add(`${p}monthly token counters equal the usage log and settled objects`, tokensOff === 0, `${tokensOff} accounts off`);

  // A member's monthly spend in an org is what their member keys were charged that month, no more, no less.
  const memberOff = count(db, `SELECT count(*) AS n FROM (
    SELECT u.account_id, u.user_id, strftime('%Y-%m', u.at / 1000, 'unixepoch') AS month,
      sum(u.cost) - coalesce(sum((SELECT l.amount FROM objects o JOIN ledger l ON l.kind = 'refund' AND l.ref = 'refund:' || o.kind || ':' || o.upstream_id
        WHERE o.request_id = u.request_id)), 0) AS used
    FROM usage_log u WHERE u.org_id IS NOT NULL AND u.user_id IS NOT NULL GROUP BY 1, 2, 3) g
    FULL JOIN member_spend ms ON ms.account_id = g.account_id AND ms.user_id = g.user_id AND ms.month = g.month
    WHERE coalesce(ms.credits, 0) <> coalesce(g.used, 0)`);
  checks.add(`${p}every member's monthly spend equals their charges`, memberOff === 0, `${memberOff} members off`);

  const integrity = db.query<{ integrity_check: string }, []>("PRAGMA integrity_check").all().map((r) => r.integrity_check).join("; ");
  checks.add(`${p}PRAGMA integrity_check = ok`, integrity === "ok", integrity);
}

/** A user's name, or `org:NAME` for an org: the accounts a drill loads and checks. */
export type AccountName = string;

const viewOf = (admin: AdminClient, name: AccountName) =>
  (name.startsWith("org:") ? admin.orgs.get(name.slice(4)) : admin.users.get(name)) as Promise<{ name: string; inFlight: number; heldCredits: number; balance: number; credits: number }>;

/** Waits until every named account has nothing in flight and nothing held; false if that never happens. */
export async function waitSettled(admin: AdminClient, names: AccountName[], timeoutMs = 20_000): Promise<{ ok: boolean; state: string }> {
  const end = Date.now() + timeoutMs;
  let state = "";
  for (;;) {
    const all = await Promise.all(names.map((n) => viewOf(admin, n)));
    state = all.map((u) => `${u.name}: in flight ${u.inFlight}, held ${u.heldCredits}`).join("; ");
    if (all.every((u) => u.inFlight === 0 && u.heldCredits === 0)) return { ok: true, state };
    if (Date.now() > end) return { ok: false, state };
    await Bun.sleep(50);
  }
}

/** The live balance each admin view shows equals the committed balance (once the writer has flushed). */
export async function liveMatchesDb(admin: AdminClient, names: AccountName[], checks: Checks, label = ""): Promise<void> {
  // The writer flushes within a few milliseconds of the last settlement; wait for it to land.
  let mismatch: string[] = [];
  for (let i = 0; i < 40; i++) {
    mismatch = [];
    for (const name of names) {
      const u = await viewOf(admin, name);
      if (u.balance !== u.credits) mismatch.push(`${name}: live ${u.balance}, stored ${u.credits}`);
    }
    if (mismatch.length === 0) break;
    await Bun.sleep(50);
  }
  checks.add(`${label ? `${label}: ` : ""}live balances equal stored balances`, mismatch.length === 0, mismatch.join(", "));
}

/** Reads a streamed body to the end; tells how it ended. */
export async function readStream(res: Response, abortAfterFirst: (() => void) | null): Promise<"done" | "error_event" | "aborted" | "cut"> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let text = "";
  let first = true;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
      if (first && abortAfterFirst) {
        abortAfterFirst();
        await reader.cancel().catch(() => {});
        return "aborted";
      }
      first = false;
    }
  } catch {
    return "cut";
  }
  if (text.trimEnd().endsWith("data: [DONE]")) return "done";
  if (/data: \{"error":/.test(text)) return "error_event";
  return "cut";
}
