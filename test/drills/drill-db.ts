import { SQL } from "bun";
import { pgInvariants } from "../../db/invariants";
import { accountingChecks, openDb, type Checks } from "./support";

export type UsageRow = { request_id: string; status: number; error_code: string | null; cost: number };
export type ObjectDrillRow = { kind: string; upstream_id: string; prepaid: number; request_id: string | null; settled_at: number | null; used_credits: number | null; status: string | null };

/**
 * What a drill reads from relay's database, in either mode: the ledger and usage log as they stand, and the
 * accounting checks (SQLite: support.ts's, with integrity_check; PostgreSQL: db/invariants.ts's, which
 * also require nothing held when idle).
 */
export interface DrillDb {
  ledger(): Promise<Map<string, number>>;
  usage(): Promise<Map<string, UsageRow>>;
  objects(): Promise<ObjectDrillRow[]>;
  check(checks: Checks, label?: string): Promise<void>;
  close(): Promise<void>;
}

export function sqliteDrillDb(dataDir: string): DrillDb {
  const withDb = <T>(fn: (db: ReturnType<typeof openDb>) => T): T => {
    const db = openDb(dataDir);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  return {
    ledger: async () => withDb((db) => new Map(db.query<{ ref: string; amount: number }, []>("SELECT ref, amount FROM ledger").all().map((r) => [r.ref, r.amount] as const))),
    usage: async () => withDb((db) => new Map(db.query<UsageRow, []>("SELECT request_id, status, error_code, cost FROM usage_log").all().map((r) => [r.request_id, r] as const))),
    objects: async () => withDb((db) => db.query<ObjectDrillRow, []>("SELECT kind, upstream_id, prepaid, request_id, settled_at, used_credits, status FROM objects").all()),
    check: async (checks, label = "") => withDb((db) => accountingChecks(db, checks, label)),
    close: async () => {},
  };
}

export function pgDrillDb(url: string): DrillDb {
  const sql = new SQL(url, { max: 2 });
  return {
    async ledger() {
      const rows = await sql`SELECT ref, amount FROM ledger`;
      return new Map(rows.map((r: { ref: string; amount: string }) => [r.ref, Number(r.amount)] as const));
    },
    async usage() {
      const rows = await sql`SELECT request_id, status, error_code, cost FROM usage_log`;
      return new Map(rows.map((r: Record<string, unknown>) => [String(r.request_id), {
        request_id: String(r.request_id), status: Number(r.status), error_code: (r.error_code as string | null) ?? null, cost: Number(r.cost),
      }] as const));
    },
    async objects() {
      const rows = await sql`SELECT kind, upstream_id, prepaid, request_id, settled_at, used_credits, status FROM objects`;
      return rows.map((r: Record<string, unknown>) => ({
        kind: String(r.kind), upstream_id: String(r.upstream_id), prepaid: Number(r.prepaid), request_id: (r.request_id as string | null) ?? null,
        settled_at: r.settled_at === null ? null : Number(r.settled_at), used_credits: r.used_credits === null ? null : Number(r.used_credits), status: (r.status as string | null) ?? null,
      }));
    },
    async check(checks, label = "") {
      for (const i of await pgInvariants(sql)) checks.add(`${label ? `${label}: ` : ""}${i.name}`, i.ok, i.detail);
    },
    close: () => sql.close({ timeout: 1 }),
  };
}
