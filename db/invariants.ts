import type { Database } from "bun:sqlite";
import type { SQL } from "bun";
import { tablesOf, type Dialect } from "./catalogue";

/*
 * The accounting invariants, read straight from a database of either dialect: what `relay admin import`
 * proves after loading a dump, and what the cluster drills assert after their faults. The same SQL runs
 * on both (no date functions, no dialect casts); PostgreSQL answers sums and counts as strings, so every
 * figure is compared in SQL and only printed here. test/support/limits-helpers.ts and test/drills/support.ts
 * keep SQLite-only extras (balance_after as a running sum, monthly counters per month, integrity_check).
 */

export type Invariant = { name: string; ok: boolean; detail: string };

type Row = Record<string, unknown>;
type Check = { name: string; sql: (dialect: Dialect) => string | null; describe: (r: Row) => string };

/** Violations shown per check; one more is fetched to tell that there are more. */
const SHOWN = 10;

const CHECKS: Check[] = [
  {
    name: "every balance equals the sum of its ledger",
    sql: () => `SELECT id, credits, ledger FROM (SELECT a.id, a.credits,
      coalesce((SELECT sum(l.amount) FROM ledger l WHERE l.account_id = a.id), 0) AS ledger FROM accounts a) x
      WHERE credits <> ledger ORDER BY id`,
    describe: (r) => `account ${r.id}: credits ${r.credits}, ledger ${r.ledger}`,
  },
  {
    name: "no balance is below zero",
    sql: () => `SELECT id, credits FROM accounts WHERE credits < 0 ORDER BY id`,
    describe: (r) => `account ${r.id}: credits ${r.credits}`,
  },
  {
    name: "nothing is held",
    sql: heldSql,
    describe: (r) => `${r.what}: ${r.n} row(s)`,
  },
  {
    name: "every ledger charge matches exactly one usage row",
    // request_id is unique, so the count is 0 or 1: 0 is a charge without its request (or for another amount).
    sql: () => `SELECT ref, amount FROM (SELECT l.ref, l.amount, (SELECT count(*) FROM usage_log u
      WHERE u.request_id = l.ref AND u.account_id = l.account_id AND u.cost = -l.amount) AS n FROM ledger l WHERE l.kind = 'charge') x
      WHERE n <> 1 ORDER BY ref`,
    describe: (r) => `charge ${r.ref} (${r.amount}): no usage row of that request, account and cost`,
  },
  {
    name: "every charged request has exactly one ledger charge",
    sql: () => `SELECT request_id, cost, n FROM (SELECT u.request_id, u.cost, (SELECT count(*) FROM ledger l
      WHERE l.ref = u.request_id AND l.kind = 'charge' AND l.account_id = u.account_id AND l.amount = -u.cost) AS n FROM usage_log u WHERE u.cost > 0) x
      WHERE n <> 1 ORDER BY request_id`,
    describe: (r) => `request ${r.request_id} (cost ${r.cost}): ${r.n} matching charges`,
  },
  {
    name: "every key's spend equals its charges (less the refunds of work that finished later)",
    sql: () => `SELECT id, spent, charged FROM (SELECT k.id, k.spent,
      coalesce((SELECT -sum(l.amount) FROM ledger l WHERE l.key_id = k.id AND l.kind IN ('charge', 'refund')), 0) AS charged FROM api_keys k) x
      WHERE spent <> charged ORDER BY id`,
    describe: (r) => `key ${r.id}: spent ${r.spent}, charges ${r.charged}`,
  },
  {
    name: "every account's token counters equal its usage rows",
    sql: () => `SELECT id, counted, used FROM (SELECT a.id,
      coalesce((SELECT sum(t.tokens) FROM token_usage t WHERE t.account_id = a.id), 0) AS counted,
      coalesce((SELECT sum(u.prompt_tokens + u.completion_tokens) FROM usage_log u WHERE u.account_id = a.id), 0) +
      coalesce((SELECT sum(o.used_tokens) FROM objects o WHERE o.account_id = a.id AND o.settled_at IS NOT NULL), 0) AS used FROM accounts a) x
      WHERE counted <> used ORDER BY id`,
    describe: (r) => `account ${r.id}: token_usage ${r.counted}, usage rows ${r.used}`,
  },
  {
    name: "every member's spend equals their charges in the org",
    // Over all months: the month a settlement counts in and its usage row's `at` may straddle a month's end.
    sql: () => `SELECT account_id, user_id, counted, charged FROM (SELECT k.account_id, k.user_id,
      coalesce((SELECT sum(m.credits) FROM member_spend m WHERE m.account_id = k.account_id AND m.user_id = k.user_id), 0) AS counted,
      coalesce((SELECT sum(u.cost) FROM usage_log u WHERE u.org_id IS NOT NULL AND u.account_id = k.account_id AND u.user_id = k.user_id), 0) -
      coalesce((SELECT sum(l.amount) FROM objects o JOIN usage_log u ON u.request_id = o.request_id
        JOIN ledger l ON l.kind = 'refund' AND l.ref = 'refund:' || o.kind || ':' || o.upstream_id
        WHERE u.org_id IS NOT NULL AND u.account_id = k.account_id AND u.user_id = k.user_id), 0) AS charged
      FROM (SELECT account_id, user_id FROM member_spend UNION SELECT account_id, user_id FROM usage_log WHERE org_id IS NOT NULL AND user_id IS NOT NULL) k) x
      WHERE counted <> charged ORDER BY account_id, user_id`,
    describe: (r) => `member ${r.user_id} of account ${r.account_id}: member_spend ${r.counted}, charges ${r.charged}`,
  },
];

/**
 * What running requests hold, where the dialect's schema keeps it: rows of a `holds` table and non-zero
 * `held` / `held_*` columns (cluster mode's shared holds, PostgreSQL only). Embedded mode keeps holds in
 * its process's memory, so on SQLite there is nothing to read and the check passes by construction.
 */
function heldSql(dialect: Dialect): string | null {
  const parts: string[] = [];
  for (const t of tablesOf(dialect)) {
    if (t.name === "holds") parts.push(`SELECT 'holds' AS what, count(*) AS n FROM "holds"`);
    for (const c of t.columns) {
      if (c.name === "held" || c.name.startsWith("held_")) parts.push(`SELECT '${t.name}.${c.name} <> 0' AS what, count(*) AS n FROM "${t.name}" WHERE "${c.name}" <> 0`);
    }
  }
  return parts.length ? `SELECT what, n FROM (${parts.join(" UNION ALL ")}) x WHERE n > 0` : null;
}

function result(check: Check, rows: Row[]): Invariant {
  const shown = rows.slice(0, SHOWN).map(check.describe);
  if (rows.length > SHOWN) shown.push("and more");
  return { name: check.name, ok: rows.length === 0, detail: shown.join("; ") };
}

const limited = (q: string) => `${q} LIMIT ${SHOWN + 1}`;

/** The invariants of an embedded (SQLite) database. */
export function sqliteInvariants(sqlite: Database): Invariant[] {
  return CHECKS.map((c) => {
    const q = c.sql("sqlite");
    return result(c, q === null ? [] : sqlite.query<Row, []>(limited(q)).all());
  });
}

/** The invariants of a PostgreSQL database (cluster mode), one query per check on the pool. */
export async function pgInvariants(sql: SQL): Promise<Invariant[]> {
  const out: Invariant[] = [];
  for (const c of CHECKS) {
    const q = c.sql("postgres");
    out.push(result(c, q === null ? [] : ((await sql.unsafe(limited(q))) as Row[])));
  }
  return out;
}

/** One line per check, `ok` or `FAIL` with what is off. */
export function formatInvariants(list: Invariant[]): string {
  return list.map((i) => `  ${i.ok ? "ok  " : "FAIL"}  ${i.name}${i.ok ? "" : `: ${i.detail}`}`).join("\n");
}
