import { renameSync, rmSync, writeFileSync } from "node:fs";
import { latestMigration } from "../../../db/catalogue";
import { formatInvariants } from "../../../db/invariants";
import { loadConfig, type Config } from "../../config";
import { configuredDatabase, dialectName } from "../../database/configured";
import { exportDatabase, type ExportSummary, type LineSink } from "../../database/export";
import { migrateTarget, openTarget, type Handle } from "../../database/handle";
import { importDump, type ImportSummary } from "../../database/import";
import { UsageError } from "../args";
import type { Command } from "../command";

/*
 * The commands that work on the configured database itself, not over the admin socket: they run with no
 * server (migrating before a start, exporting a stopped relay, importing into a new database). The
 * configuration is read here, as `relay serve` would read it: PostgreSQL when RELAY_DATABASE_URL is set,
 * else the SQLite file in RELAY_DATA_DIR.
 */

async function withTarget<T>(create: boolean, fn: (h: Handle, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const h = await openTarget(configuredDatabase(config), { create });
  try {
    return await fn(h, config);
  } finally {
    await h.close();
  }
}

/** A dump file is written beside its name and renamed when complete, so a failed export leaves no file that looks whole; mode 0600, as it holds password hashes and ciphertexts. */
async function toFile(path: string, fn: (sink: LineSink) => Promise<ExportSummary>): Promise<ExportSummary> {
  const partial = `${path}.partial`;
  writeFileSync(partial, "", { mode: 0o600 });
  const w = Bun.file(partial).writer({ highWaterMark: 1 << 20 });
  try {
    const summary = await fn({ write: (line) => void w.write(line + "\n") });
    await w.end();
    renameSync(partial, path);
    return summary;
  } catch (e) {
    await Promise.resolve(w.end()).catch(() => {});
    rmSync(partial, { force: true });
    throw e;
  }
}

async function toStdout(fn: (sink: LineSink) => Promise<ExportSummary>): Promise<ExportSummary> {
  const w = Bun.stdout.writer({ highWaterMark: 1 << 20 });
  let n = 0;
  const summary = await fn({
    write: async (line) => {
      w.write(line + "\n");
      if (++n % 1000 === 0) await w.flush();
    },
  });
  await w.flush();
  return summary;
}

const KEY_NOTE = "secrets are in the dump as ciphertexts: import it with the same RELAY_MASTER_KEY (or master.key file)";

function exportText(s: ExportSummary & { out: string | null }): string {
  return [
    `exported ${dialectName(s.dialect)} (schema ${s.schema}) to ${s.out ?? "stdout"}: ${s.rows} rows in ${s.tables.length} tables`,
    `  ${s.tables.map((t) => `${t.name} ${t.rows}`).join(", ")}`,
    `  skipped (runtime state of this database): ${s.skipped.join(", ") || "none"}`,
    `  ${KEY_NOTE}${s.masterKeys.length ? ` (${s.masterKeys.join(", ")})` : ""}`,
    ...(s.live ? ["  a relay is running on this data dir: the dump is one consistent moment, without the requests then in flight"] : []),
  ].join("\n");
}

function importText(s: ImportSummary): string {
  const failed = s.invariants.filter((i) => !i.ok).length;
  return [
    `imported a ${dialectName(s.from.dialect)} dump (schema ${s.from.schema}, exported ${s.from.exportedAt}) into ${dialectName(s.into.dialect)} ${s.into.database}`,
    ...(s.migrated.length ? [`  migrated first: ${s.migrated.join(", ")}`] : []),
    `  ${s.rows} rows in ${s.tables.length} tables: ${s.tables.map((t) => `${t.name} ${t.rows}`).join(", ")}`,
    ...(s.into.dialect === "postgres" ? [`  ${s.sequences} identity sequences set past the imported ids`] : []),
    `  secrets: ${s.secrets.ciphertexts} ciphertexts, ${s.secrets.masterKeys.length ? `master key ${s.secrets.masterKeys.join(", ")} verified` : "no master key needed"}`,
    "invariants:",
    formatInvariants(s.invariants),
    failed ? `${failed} invariant(s) FAILED: the rows are imported as the dump had them` : "all invariants hold",
  ].join("\n");
}

export const databaseCommands: Command[] = [
  {
    group: "migrate", verb: "", local: true,
    summary: "Apply pending migrations to the configured database (PostgreSQL if RELAY_DATABASE_URL is set, else the SQLite file); no server needed",
    run: () => withTarget(true, async (h) => ({ dialect: h.dialect, database: h.target.label, applied: await migrateTarget(h), schema: latestMigration(h.dialect) })),
    format: (r) => `${dialectName(r.dialect)} ${r.database}: ${r.applied.length ? `applied ${r.applied.join(", ")}` : "up to date"} (schema ${r.schema})`,
  },
  {
    group: "export", verb: "", local: true,
    summary: "Dump the configured database (one consistent snapshot, versioned JSON lines) to stdout or --out FILE; no server needed",
    flags: [{ name: "out", type: "string", help: "write the dump to FILE (mode 0600) instead of stdout" }],
    run: async (_c, { flags }) => {
      const out = (flags.out as string | undefined) ?? null;
      if (!out && flags.json) throw new UsageError("--json needs --out: without it the dump itself is on stdout");
      const summary = await withTarget(false, (h) => (out ? toFile(out, (sink) => exportDatabase(h, sink)) : toStdout((sink) => exportDatabase(h, sink))));
      const result = { ...summary, out };
      // With the dump on stdout, the summary goes to stderr and nothing else to stdout.
      if (!out) console.error(exportText(result));
      return result;
    },
    format: (r) => (r.out ? exportText(r) : undefined),
  },
  {
    group: "import", verb: "", local: true,
    summary: "Load a dump into the configured database, which must be empty, then check the accounting invariants; no server needed",
    args: [{ name: "FILE", help: "a dump written by relay admin export" }],
    run: async (_c, { positionals }) => {
      const summary = await withTarget(true, (h, config) => importDump(h, positionals[0]!, config));
      if (summary.invariants.some((i) => !i.ok)) process.exitCode = 1;
      return summary;
    },
    format: importText,
  },
];
