import { latestMigration } from "../../db/catalogue";
import { DatabaseRefused } from "./configured";
import { DUMP_FORMAT, DUMP_VERSION, type DumpHeader } from "./dump-format";
import { pendingMigrations, type Handle } from "./handle";
import { journalState } from "./journal-state";
import { dumpPlan, type Carried } from "./portable";
import { countNonDefault, countRows, pgReader, sqliteReader, tableRows, type Reader } from "./rows";
import { SEALED_TABLES, SecretSamples } from "./secrets";

/** Where the dump's lines go (a file or stdout); `write` may apply back-pressure. */
export type LineSink = { write(line: string): void | Promise<void> };

export type ExportSummary = {
  dialect: Handle["dialect"];
  schema: string;
  tables: { name: string; rows: number }[];
  rows: number;
  masterKeys: string[];
  skipped: string[];
  /** A relay was running on the SQLite data dir: requests still in flight are not in the dump. */
  live: boolean;
};

/**
 * Writes a complete dump of the database from one read transaction, so every row comes from the same
 * instant: a deferred transaction on SQLite (under WAL its snapshot is taken at the first read and held
 * to the end, while a running relay keeps writing), REPEATABLE READ READ ONLY on PostgreSQL. Refused
 * when migrations are pending (the dump would not match its header's schema), when a crashed relay's
 * journal holds settlements the database lacks, or when runtime state says requests are running.
 */
export async function exportDatabase(h: Handle, sink: LineSink): Promise<ExportSummary> {
  const pending = await pendingMigrations(h);
  if (pending.length) throw new DatabaseRefused(`the database has migrations pending (${pending.join(", ")}): run relay admin migrate first`);
  let live = false;
  if (h.dialect === "sqlite") {
    const journal = journalState(h.target.dataDir);
    if (journal === "unrecovered") {
      throw new DatabaseRefused("a relay stopped here without flushing its journal, which holds settlements the database lacks: start relay serve once (it replays the journal) and stop it, then export");
    }
    live = journal === "live";
  }
  const plan = dumpPlan(h.dialect);
  return inSnapshot(h, async (r) => {
    for (const { info, why } of plan.mustBeEmpty) {
      const n = await countRows(r, info.name);
      if (n > 0) throw new DatabaseRefused(`${info.name} has ${n} row(s): ${why}`);
    }
    for (const t of plan.carried) {
      for (const c of t.local) {
        const n = await countNonDefault(r, t.info.name, c);
        if (n > 0) throw new DatabaseRefused(`${t.info.name}.${c.name} is not ${JSON.stringify(c.column.default ?? null)} in ${n} row(s): requests are running (cluster mode's holds): stop every relay on this database, or let its requests finish, and export again`);
      }
    }
    const tables = [];
    for (const t of plan.carried) tables.push({ name: t.info.name, columns: t.columns.map((c) => c.name), rows: await countRows(r, t.info.name) });
    const secrets = await sampleSecrets(r, plan.carried);
    const header: DumpHeader = { format: DUMP_FORMAT, version: DUMP_VERSION, dialect: h.dialect, schema: latestMigration(h.dialect), tables, exportedAt: new Date().toISOString(), masterKeys: secrets.keyIds() };
    await sink.write(JSON.stringify(header));
    for (const t of plan.carried) {
      for await (const row of tableRows(r, t)) await sink.write(JSON.stringify({ t: t.info.name, r: row }));
    }
    return {
      dialect: h.dialect, schema: header.schema, tables: tables.map(({ name, rows }) => ({ name, rows })), rows: tables.reduce((s, t) => s + t.rows, 0),
      masterKeys: header.masterKeys, skipped: plan.skipped.map((s) => s.name), live,
    };
  });
}

async function inSnapshot<T>(h: Handle, fn: (r: Reader) => Promise<T>): Promise<T> {
  if (h.dialect === "postgres") return h.sql.begin("isolation level repeatable read read only", (tx) => fn(pgReader(tx)));
  // Raw BEGIN rather than db.transaction: the body awaits (the sink), and only reads, so there is nothing to roll back.
  h.sqlite.run("BEGIN");
  try {
    return await fn(sqliteReader(h.sqlite));
  } finally {
    h.sqlite.run("COMMIT");
  }
}

/** The master keys the header names, read first from the small tables that hold ciphertexts. */
async function sampleSecrets(r: Reader, carried: Carried[]): Promise<SecretSamples> {
  const samples = new SecretSamples();
  for (const t of carried.filter((t) => SEALED_TABLES.includes(t.info.name))) {
    for await (const row of tableRows(r, t)) samples.add(t.info.name, row);
  }
  return samples;
}
