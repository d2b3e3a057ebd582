import { migrationTags, tableOf, type Dialect, type TableInfo } from "../../db/catalogue";
import { DatabaseRefused, dialectName } from "./configured";
import { DUMP_FORMAT, DUMP_VERSION, fileLines, headerSchema, rowLineSchema, type DumpHeader } from "./dump-format";
import { dumpPlan } from "./portable";
import { SecretSamples } from "./secrets";

export type ScannedDump = { header: DumpHeader; tables: Map<string, TableInfo>; secrets: SecretSamples };

/**
 * Reads the whole dump once before anything is written: the header names a format, version and schema
 * this relay reads; every table and column is one the target carries (a dump from a newer relay with a
 * table or column this one lacks is refused, not silently thinned); rows come in the header's table order
 * with only its columns; and each table has exactly the rows the header counted, so a truncated file is
 * told from a complete one. Collects the ciphertexts to prove the master key with.
 */
export async function scanDump(file: string, target: Dialect): Promise<ScannedDump> {
  if (!(await Bun.file(file).exists())) throw new DatabaseRefused(`no such file: ${file}`);
  const lines = fileLines(file);
  const first = await lines.next();
  if (first.done) throw new DatabaseRefused(`${file} is empty`);
  const header = parseHeader(file, first.value.line);
  if (header.dialect === target && !migrationTags(target).includes(header.schema)) {
    throw new DatabaseRefused(`${file} was made by a newer relay (schema ${header.schema}): upgrade relay to import it`);
  }
  const carried = new Set(dumpPlan(target).carried.map((t) => t.info.name));
  const tables = new Map<string, TableInfo>();
  for (const t of header.tables) {
    const info = tableOf(target, t.name);
    if (!info || !carried.has(t.name)) throw new DatabaseRefused(`${file} has table ${t.name}, which ${dialectName(target)} here does not carry (was the dump made by a newer relay?)`);
    const unknown = t.columns.filter((c) => !info.columns.some((k) => k.name === c));
    if (unknown.length) throw new DatabaseRefused(`${file} has column(s) ${unknown.map((c) => `${t.name}.${c}`).join(", ")}, which this relay does not know (was the dump made by a newer relay?)`);
    tables.set(t.name, info);
  }
  const order = header.tables.map((t) => t.name);
  const counts = new Map<string, number>();
  const secrets = new SecretSamples();
  let at = 0;
  for await (const { n, line } of lines) {
    let parsed;
    try {
      parsed = rowLineSchema.safeParse(JSON.parse(line));
    } catch {
      parsed = null;
    }
    if (!parsed?.success) throw new DatabaseRefused(`${file} line ${n} is not a row line ({"t":TABLE,"r":{…}})`);
    const { t, r } = parsed.data;
    const i = order.indexOf(t, at);
    if (i === -1) throw new DatabaseRefused(`${file} line ${n}: a row of ${t} ${order.includes(t) ? "out of the header's table order" : "which the header does not list"}`);
    at = i;
    const columns = header.tables[i]!.columns;
    const extra = Object.keys(r).filter((c) => !columns.includes(c));
    if (extra.length) throw new DatabaseRefused(`${file} line ${n}: column(s) ${extra.join(", ")} of ${t} are not in the header`);
    counts.set(t, (counts.get(t) ?? 0) + 1);
    secrets.add(t, r);
  }
  for (const t of header.tables) {
    const got = counts.get(t.name) ?? 0;
    if (got !== t.rows) throw new DatabaseRefused(`${file} is truncated or was edited: ${t.name} has ${got} row(s), its header says ${t.rows}`);
  }
  return { header, tables, secrets };
}

function parseHeader(file: string, line: string): DumpHeader {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new DatabaseRefused(`${file} is not a relay export (its first line is not JSON)`);
  }
  const o = (json ?? {}) as { format?: unknown; version?: unknown };
  if (o.format !== DUMP_FORMAT) throw new DatabaseRefused(`${file} is not a relay export (no "format":"${DUMP_FORMAT}" header)`);
  if (o.version !== DUMP_VERSION) throw new DatabaseRefused(`${file} is a version ${String(o.version)} export; this relay reads version ${DUMP_VERSION}`);
  const parsed = headerSchema.safeParse(json);
  if (!parsed.success) throw new DatabaseRefused(`${file}: malformed header (${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")})`);
  return parsed.data;
}
