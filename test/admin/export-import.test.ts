/**
 * `relay admin migrate`, `export` and `import` through the real CLI process, on real databases: a relay
 * (a child `relay serve`) fills a SQLite data dir with users, an org with members, keys of every kind, a
 * channel, prices, grants and settled requests; the dump of it loads into a fresh PostgreSQL database,
 * whose own dump loads into a fresh SQLite data dir; the dumps agree row for row, the invariants hold at
 * every step, and a relay started on the round-tripped data dir serves the original keys. Then what is
 * refused: a non-empty target, another master key, a truncated dump, and (cluster mode) running holds.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { latestMigration } from "../../db/catalogue";
import { sqliteInvariants, pgInvariants } from "../../db/invariants";
import { dumpPlan } from "../../server/database/portable";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream";
import { MODEL, PER_OUTPUT_TOKEN, sendChat, settled, spawnRelay, tempDataDir } from "../support/limits-helpers";
import { freshDatabase, type FreshDatabase } from "../support/services";

const T = 120_000;
const root = join(import.meta.dir, "..", "..");
const MASTER = randomBytes(32).toString("base64");

type Run = { code: number; out: string; err: string };

/** `bun server/main.ts admin ARGS` with exactly this database configuration (nothing inherited). */
async function admin(args: string[], db: { dataDir: string; url?: string; masterKey?: string }): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("RELAY_")) env[k] = v;
  Object.assign(env, { RELAY_DATA_DIR: db.dataDir, RELAY_MASTER_KEY: db.masterKey ?? MASTER, RELAY_LOG_LEVEL: "error" });
  if (db.url) env.RELAY_DATABASE_URL = db.url;
  const p = Bun.spawn(["bun", join(root, "server/main.ts"), "admin", ...args], { env, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code, out, err };
}

const ok = (r: Run) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
  return r;
};

const dumpLines = (path: string) => readFileSync(path, "utf8").trimEnd().split("\n");
const headerOf = (path: string) => JSON.parse(dumpLines(path)[0]!);
const rowsOf = (path: string) => dumpLines(path).slice(1);

let mock: MockUpstream;
let source: string;
let pg: FreshDatabase;
const dirs: string[] = [];
const dbs: FreshDatabase[] = [];
const dir = () => {
  const d = tempDataDir();
  dirs.push(d);
  return d;
};
const fresh = async () => {
  const d = await freshDatabase();
  dbs.push(d);
  return d;
};
let aliceKey = "";
let work = "";

beforeAll(async () => {
  mock = await startMockUpstream("up1");
  source = dir();
  work = dir();
  const relay = await spawnRelay(source, { RELAY_MASTER_KEY: MASTER });
  try {
    const a = relay.admin;
    await a.channels.create({ name: "c1", group: "official", baseUrl: `${mock.url}/v1`, apiKey: "sk-upstream-1", models: [MODEL], modelMap: { alias: MODEL }, headers: { "x-b": "2", "x-a": "1" } });
    await a.prices.set(MODEL, PER_OUTPUT_TOKEN);
    await a.prices.set("free-model", { inputPerMTok: 0, outputPerMTok: 0, perRequest: 3 });
    await a.users.create({ name: "alice", credits: 1000 });
    await a.users.create({ name: "bob", credits: 10 });
    await a.users.create({ name: "carol" });
    await a.orgs.create({ name: "acme", owner: "alice", credits: 500, models: [MODEL] });
    await a.orgs.addMember("acme", { user: "bob", role: "member", monthlySpend: 100 });
    await a.credits.grant("bob", { amount: 5, note: "welcome" });
    aliceKey = (await a.keys.create({ user: "alice", label: "laptop", allowIps: ["127.0.0.1/32"] })).key as string;
    const bobMember = (await a.keys.create({ org: "acme", member: "bob", label: "bob-in-acme" })).key as string;
    const service = (await a.keys.create({ org: "acme", service: true, label: "ci", scopes: ["inference"] })).key as string;
    await a.keys.create({ user: "carol", label: "unused", models: [MODEL], spendLimit: 50 });
    for (const [key, n] of [[aliceKey, 3], [bobMember, 2], [service, 2]] as const) {
      for (let i = 0; i < n; i++) expect((await sendChat(relay.url, key, { model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 5 })).status).toBe(200);
    }
    // A refusal is a usage row too (no charge).
    expect((await sendChat(relay.url, aliceKey, { model: "no-such-model", messages: [{ role: "user", content: "hi" }] })).status).toBe(404);
    for (const u of ["alice", "bob"]) await settled(a, u);
  } finally {
    await relay.stop();
  }
  pg = await fresh();
}, T);

afterAll(async () => {
  await mock?.stop();
  for (const d of dbs) await d.drop().catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("round trip SQLite → PostgreSQL → SQLite", () => {
  const A = () => join(work, "a.jsonl");
  const B = () => join(work, "b.jsonl");

  test("the source's invariants hold; the export is versioned, in FK order, with every row", async () => {
    const db = new Database(join(source, "relay.db"), { readonly: true });
    expect(sqliteInvariants(db).filter((i) => !i.ok)).toEqual([]);
    const r = ok(await admin(["export", "--out", A()], { dataDir: source }));
    expect(r.out).toContain("secrets are in the dump as ciphertexts");
    const h = headerOf(A());
    expect(h).toMatchObject({ format: "relay-export", version: 1, dialect: "sqlite", schema: latestMigration("sqlite") });
    const names = h.tables.map((t: { name: string }) => t.name);
    expect(names.indexOf("accounts")).toBeLessThan(names.indexOf("users"));
    expect(names.indexOf("users")).toBeLessThan(names.indexOf("api_keys"));
    expect(names.indexOf("users")).toBeLessThan(names.indexOf("memberships"));
    expect(names).not.toContain("auth_epoch");
    for (const t of h.tables) expect(t.rows).toBe((db.query(`SELECT count(*) AS n FROM "${t.name}"`).get() as { n: number }).n);
    expect(h.masterKeys).toHaveLength(1);
    db.close();
    // Neutral values: booleans, JSON as JSON, integers as numbers.
    const rows = rowsOf(A()).map((l) => JSON.parse(l));
    const channel = rows.find((l) => l.t === "channels").r;
    expect(channel).toMatchObject({ enabled: true, models: [MODEL], model_map: { alias: MODEL }, priority: 0 });
    expect(Object.keys(channel.headers)).toEqual(["x-a", "x-b"]); // sorted, whatever the dialect
    expect(rows.filter((l) => l.t === "usage_log").length).toBe(8);
    // Without --out the dump is on stdout, and the summary on stderr.
    const s = ok(await admin(["export"], { dataDir: source }));
    expect(s.out.trimEnd().split("\n").slice(1)).toEqual(rowsOf(A()));
    expect(s.err).toContain("to stdout");
  }, T);

  test("migrate a fresh PostgreSQL database, then it is up to date", async () => {
    const first = ok(await admin(["migrate"], { dataDir: dir(), url: pg.url }));
    expect(first.out).toContain("PostgreSQL");
    expect(first.out).toContain("applied 0000_foundation");
    const second = ok(await admin(["migrate"], { dataDir: dir(), url: pg.url }));
    expect(second.out).toContain("up to date");
    const json = JSON.parse(ok(await admin(["migrate", "--json"], { dataDir: dir(), url: pg.url })).out);
    expect(json).toMatchObject({ dialect: "postgres", applied: [] });
    expect(json.database).not.toContain(new URL(pg.url).password);
  }, T);

  test("import into PostgreSQL: same rows per table, invariants hold, sequences past the ids", async () => {
    const r = ok(await admin(["import", A()], { dataDir: dir(), url: pg.url }));
    expect(r.out).toContain("all invariants hold");
    expect(r.out).toContain("identity sequences set");
    const sql = new SQL(pg.url, { max: 1 });
    try {
      for (const t of headerOf(A()).tables) expect([t.name, Number((await sql.unsafe(`SELECT count(*) AS n FROM "${t.name}"`))[0].n)]).toEqual([t.name, t.rows]);
      expect((await pgInvariants(sql)).filter((i) => !i.ok)).toEqual([]);
      const [{ max }] = await sql`SELECT max(id) AS max FROM accounts`;
      const [{ id }] = await sql`INSERT INTO accounts (kind, name, created_at) VALUES ('user', 'after-import', 0) RETURNING id`;
      expect(id).toBe(Number(max) + 1);
      await sql`DELETE FROM accounts WHERE id = ${id}`;
    } finally {
      await sql.close();
    }
  }, T);

  test("export from PostgreSQL equals the SQLite dump row for row; import into SQLite and export again, the same", async () => {
    ok(await admin(["export", "--out", B()], { dataDir: dir(), url: pg.url }));
    const a = headerOf(A());
    const b = headerOf(B());
    expect(b.dialect).toBe("postgres");
    expect(b.tables).toEqual(a.tables);
    expect(rowsOf(B())).toEqual(rowsOf(A()));

    const target = dir();
    const r = ok(await admin(["import", B()], { dataDir: target }));
    expect(r.out).toContain("all invariants hold");
    const C = join(work, "c.jsonl");
    ok(await admin(["export", "--out", C], { dataDir: target }));
    expect(rowsOf(C)).toEqual(rowsOf(A()));

    // The round-tripped data dir serves the original key, sealed secrets and all.
    const relay = await spawnRelay(target, { RELAY_MASTER_KEY: MASTER });
    try {
      expect((await sendChat(relay.url, aliceKey, { model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 5 })).status).toBe(200);
      expect((await relay.admin.channels.reveal(1)).apiKey).toBe("sk-upstream-1");
      // A running relay does not stop an export: one consistent moment, and the summary says so.
      const live = ok(await admin(["export", "--out", join(work, "live.jsonl")], { dataDir: target }));
      expect(live.out).toContain("a relay is running on this data dir");
    } finally {
      await relay.stop();
    }
  }, T);
});

describe("what is refused", () => {
  const A = () => join(work, "a.jsonl");

  test("import into a non-empty database: exit 1, says what to do, changes nothing", async () => {
    const r = await admin(["import", A()], { dataDir: dir(), url: pg.url });
    expect(r.code).toBe(1);
    expect(r.err).toContain("not empty");
    expect(r.err).toContain("create a new database");
    const s = await admin(["import", A()], { dataDir: source });
    expect(s.code).toBe(1);
    expect(s.err).toContain("point RELAY_DATA_DIR at a new, empty directory");
  }, T);

  test("a target a relay was started on once: its own settings give way to the dump's", async () => {
    const target = dir();
    await (await spawnRelay(target, { RELAY_MASTER_KEY: MASTER })).stop();
    ok(await admin(["import", A()], { dataDir: target }));
    const db = new Database(join(target, "relay.db"), { readonly: true });
    const stored = db.query("SELECT value FROM settings WHERE key = 'session.secret'").get() as { value: string };
    db.close();
    const dumped = rowsOf(A()).map((l) => JSON.parse(l)).find((l) => l.t === "settings" && l.r.key === "session.secret").r.value;
    expect(stored.value).toBe(dumped);
  }, T);

  test("import with another master key: exit 1 before writing anything", async () => {
    const target = dir();
    const r = await admin(["import", A()], { dataDir: target, masterKey: randomBytes(32).toString("base64") });
    expect(r.code).toBe(1);
    expect(r.err).toContain(headerOf(A()).masterKeys[0]);
    expect(r.err).toContain("RELAY_MASTER_KEY");
    // Refused before the target was even migrated: it has no tables at all.
    const db = new Database(join(target, "relay.db"), { readonly: true });
    expect(db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([]);
    db.close();
  }, T);

  test("a truncated dump, or a file that is not one", async () => {
    const cut = join(work, "cut.jsonl");
    writeFileSync(cut, dumpLines(A()).slice(0, -1).join("\n") + "\n");
    const r = await admin(["import", cut], { dataDir: dir() });
    expect(r.code).toBe(1);
    expect(r.err).toContain("truncated");
    const junk = join(work, "junk.jsonl");
    writeFileSync(junk, '{"hello":1}\n');
    expect((await admin(["import", junk], { dataDir: dir() })).err).toContain("not a relay export");
  }, T);

  test("export without --out refuses --json; export of a missing database", async () => {
    expect((await admin(["export", "--json"], { dataDir: source })).code).toBe(2);
    const r = await admin(["export", "--out", join(work, "x.jsonl")], { dataDir: join(work, "nowhere") });
    expect(r.code).toBe(1);
    expect(r.err).toContain("no database at");
  }, T);

  test("export of a data dir whose relay was killed before its journal was replayed", async () => {
    const d = dir();
    ok(await admin(["migrate"], { dataDir: d }));
    mkdirSync(join(d, "journal"));
    writeFileSync(join(d, "journal", "0000000001.log"), "A\t{}\n");
    const r = await admin(["export", "--out", join(work, "j.jsonl")], { dataDir: d });
    expect(r.code).toBe(1);
    expect(r.err).toContain("start relay serve once");
  }, T);

  test("a SQLite data dir migrates once, then is up to date", async () => {
    const d = dir();
    expect(ok(await admin(["migrate"], { dataDir: d })).out).toContain("applied 0000_foundation");
    expect(ok(await admin(["migrate"], { dataDir: d })).out).toContain("up to date");
  }, T);

  // Cluster mode's held counters exist only on PostgreSQL: state a dump cannot carry, so the export refuses while any is set.
  const local = dumpPlan("postgres").carried.find((t) => t.info.name === "accounts")?.local[0];
  test.if(local !== undefined)("export while PostgreSQL holds credits: refused; the invariants say so too", async () => {
    const sql = new SQL(pg.url, { max: 1 });
    try {
      await sql.unsafe(`UPDATE accounts SET "${local!.name}" = 1 WHERE id = (SELECT min(id) FROM accounts WHERE credits > 0)`);
      const r = await admin(["export", "--out", join(work, "held.jsonl")], { dataDir: dir(), url: pg.url });
      expect(r.code).toBe(1);
      expect(r.err).toContain(`accounts.${local!.name}`);
      expect((await pgInvariants(sql)).find((i) => i.name === "nothing is held")?.ok).toBe(false);
    } finally {
      await sql.unsafe(`UPDATE accounts SET "${local!.name}" = 0`);
      await sql.close();
    }
  }, T);
});

test("the invariants catch a balance that is off", () => {
  // Inside a transaction that is rolled back: the source stays as it was.
  const db = new Database(join(source, "relay.db"));
  try {
    db.run("BEGIN");
    db.run("UPDATE accounts SET credits = credits + 1 WHERE id = (SELECT min(id) FROM accounts)");
    const failed = sqliteInvariants(db).filter((i) => !i.ok).map((i) => i.name);
    expect(failed).toEqual(["every balance equals the sum of its ledger"]);
  } finally {
    db.run("ROLLBACK");
    db.close();
  }
});
