import { tablesOf, type ColumnInfo, type Dialect, type TableInfo } from "../../db/catalogue";

/*
 * What a dump carries: the part of the schema both dialects share, so a dump of either loads into either.
 * Everything outside it is runtime state of one database, decided here, table by table:
 *
 * - skipped: per-database counters and process bookkeeping, meaningless elsewhere (the target has its own);
 * - must be empty: state that, if present, means the snapshot is not at rest (requests are running), so
 *   the export is refused rather than quietly dropping or carrying it;
 * - a column one dialect has and the other not (cluster mode's `held` counters) must hold its default in
 *   every row, for the same reason, and is left out of the dump; the target fills in its own default.
 *
 * A table only one dialect has that is not listed below is treated as "must be empty": a new one that
 * carries real data makes the export refuse until someone decides here how to carry it.
 */

const SKIPPED: Record<string, string> = {
  auth_epoch: "a counter of this database's own writes (the import's inserts bump the target's)",
  config_epoch: "a counter of this database's own writes (the import's inserts bump the target's)",
  instances: "heartbeats of the processes that ran on this database",
};

const MUST_BE_EMPTY: Record<string, string> = {
  holds: "requests are running (cluster mode's holds): stop every relay on this database, or let its requests finish, and export again",
};

export type Carried = {
  info: TableInfo;
  /** The columns the dump has: those both dialects' tables share, in this dialect's order. */
  columns: ColumnInfo[];
  /** The dialect's own columns, which must hold their default in every row at export. */
  local: ColumnInfo[];
};

export type DumpPlan = {
  carried: Carried[];
  mustBeEmpty: { info: TableInfo; why: string }[];
  skipped: { name: string; why: string }[];
};

const other = (d: Dialect): Dialect => (d === "sqlite" ? "postgres" : "sqlite");

/** How a database of this dialect is dumped, from both schemas. */
export function dumpPlan(dialect: Dialect): DumpPlan {
  const theirs = new Map(tablesOf(other(dialect)).map((t) => [t.name, t]));
  const plan: DumpPlan = { carried: [], mustBeEmpty: [], skipped: [] };
  for (const info of tablesOf(dialect)) {
    if (SKIPPED[info.name]) plan.skipped.push({ name: info.name, why: SKIPPED[info.name]! });
    else if (MUST_BE_EMPTY[info.name]) plan.mustBeEmpty.push({ info, why: MUST_BE_EMPTY[info.name]! });
    else if (!theirs.has(info.name)) {
      plan.mustBeEmpty.push({ info, why: `only ${dialect} has this table, and relay export does not know how to carry it (server/database/portable.ts)` });
    } else {
      const shared = new Set(theirs.get(info.name)!.columns.map((c) => c.name));
      plan.carried.push({ info, columns: info.columns.filter((c) => shared.has(c.name)), local: info.columns.filter((c) => !shared.has(c.name)) });
    }
  }
  return plan;
}

/** Tables an import may find rows in already: a server started once on the empty target writes its own settings (current master key id, session secret); the dump's replace them. */
export const REPLACEABLE = new Set(["settings"]);
