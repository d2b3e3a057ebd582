import { afterAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { ROOT, removeDir, startRelayProcess, tempDir, type RelayProcess } from "../bench/processes";
import { freshDatabase, keyPrefix, redisUrl, type FreshDatabase } from "../support/services";

/**
 * How the storage mode is chosen and guarded, on real processes: the variables that select it, the
 * instance lock that refuses a second single PostgreSQL instance (and mixing single and cluster
 * instances), and the master key check that refuses an instance whose key cannot decrypt the data.
 */
const T = 60_000;
const masterKey = () => randomBytes(32).toString("base64");
const dirs: string[] = [];
const dbs: FreshDatabase[] = [];
const procs: RelayProcess[] = [];

afterAll(async () => {
  for (const p of procs) await p.stop().catch(() => {});
  for (const d of dbs) await d.drop().catch(() => {});
  for (const d of dirs) removeDir(d);
});

async function db(): Promise<FreshDatabase> {
  const d = await freshDatabase();
  dbs.push(d);
  return d;
}

function dir(): string {
  const d = tempDir("relay-modes-");
  dirs.push(d);
  return d;
}

/** Runs `relay serve` expecting it to refuse: its exit code and output. */
async function refusedStart(env: Record<string, string>): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(["bun", "server/main.ts", "serve"], {
    cwd: ROOT,
    env: { ...process.env, RELAY_DATA_DIR: dir(), RELAY_PORT: "0", RELAY_LOG_LEVEL: "info", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => proc.kill(9), 20_000);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  clearTimeout(killer);
  return { code: await proc.exited, out: out + err };
}

async function start(env: Record<string, string>): Promise<RelayProcess> {
  const p = await startRelayProcess({ dataDir: dir(), env });
  procs.push(p);
  return p;
}

describe("choosing the mode", () => {
  test("RELAY_REDIS_URL alone is a configuration error (exit 2) that says what is missing", async () => {
    const r = await refusedStart({ RELAY_REDIS_URL: redisUrl() });
    expect(r.code).toBe(2);
    expect(r.out).toContain("RELAY_DATABASE_URL");
  }, T);

  test("cluster mode without RELAY_MASTER_KEY exits 2 and says every instance needs the same one", async () => {
    const d = await db();
    const r = await refusedStart({ RELAY_DATABASE_URL: d.url, RELAY_REDIS_URL: redisUrl() });
    expect(r.code).toBe(2);
    expect(r.out).toContain("RELAY_MASTER_KEY: cluster mode needs it, the same on every instance");
  }, T);

  test("an unreachable PostgreSQL stops the start (exit 1) with where and what to check, never the password", async () => {
    const r = await refusedStart({ RELAY_DATABASE_URL: "postgres://relay:s3cret-pw@127.0.0.1:1/relay" });
    expect(r.code).toBe(1);
    expect(r.out).toContain("cannot open the PostgreSQL database 127.0.0.1:1/relay (RELAY_DATABASE_URL)");
    expect(r.out).toContain("check that the server is running");
    expect(r.out).not.toContain("s3cret-pw");
  }, T);

  test("a bad database URL is refused by name", async () => {
    const r = await refusedStart({ RELAY_DATABASE_URL: "mysql://x" });
    expect(r.code).toBe(2);
    expect(r.out).toContain("RELAY_DATABASE_URL: must be a postgres://");
  }, T);
});

describe("PostgreSQL mode runs one instance", () => {
  test("a second instance on the same database is refused, and so is a cluster instance beside it", async () => {
    const d = await db();
    const key = masterKey();
    const first = await start({ RELAY_DATABASE_URL: d.url, RELAY_MASTER_KEY: key });
    expect((await first.admin.health()).mode).toBe("postgres");

    const second = await refusedStart({ RELAY_DATABASE_URL: d.url, RELAY_MASTER_KEY: key });
    expect(second.code).toBe(1);
    expect(second.out).toContain("another relay already runs on this database");
    expect(second.out).toContain("RELAY_REDIS_URL");

    const clustered = await refusedStart({ RELAY_DATABASE_URL: d.url, RELAY_MASTER_KEY: key, RELAY_REDIS_URL: redisUrl(), RELAY_REDIS_PREFIX: keyPrefix("modes") });
    expect(clustered.code).toBe(1);
    expect(clustered.out).toContain("a single-instance relay");

    // Once it stops, the database is free for the next one.
    await first.stop();
    const next = await start({ RELAY_DATABASE_URL: d.url, RELAY_MASTER_KEY: key });
    expect((await next.admin.health()).mode).toBe("postgres");
    await next.stop();
  }, T);
});

describe("cluster mode", () => {
  test("an instance whose RELAY_MASTER_KEY cannot decrypt the cluster's data refuses to start, exit 2", async () => {
    const d = await db();
    const env = { RELAY_DATABASE_URL: d.url, RELAY_REDIS_URL: redisUrl(), RELAY_REDIS_PREFIX: keyPrefix("modes") };
    const first = await start({ ...env, RELAY_MASTER_KEY: masterKey() });
    await first.admin.channels.create({ name: "up", baseUrl: "http://127.0.0.1:9/v1", apiKey: "sk-upstream-secret", models: ["m"] });

    const wrong = await refusedStart({ ...env, RELAY_MASTER_KEY: masterKey() });
    expect(wrong.code).toBe(2);
    expect(wrong.out).toContain("RELAY_MASTER_KEY cannot decrypt this database");
    expect(wrong.out).toContain("Give every instance the same RELAY_MASTER_KEY");
    expect(wrong.out).not.toContain("sk-upstream-secret");
    await first.stop();
  }, T);

  test("health shows the mode, this instance with its heartbeat, PostgreSQL and Redis reachable; channel list says whose view", async () => {
    const d = await db();
    const p = await start({ RELAY_DATABASE_URL: d.url, RELAY_REDIS_URL: redisUrl(), RELAY_REDIS_PREFIX: keyPrefix("modes"), RELAY_MASTER_KEY: masterKey() });
    const h = await p.admin.health();
    expect(h).toMatchObject({ mode: "cluster", status: "ok", postgres: "reachable", redis: "reachable", limits: "shared through Redis" });
    expect(h.instances).toHaveLength(1);
    expect(h.instances[0]).toMatchObject({ self: true, state: "alive" });
    const cli = Bun.spawnSync(["bun", "server/main.ts", "admin", "channel", "list"], { cwd: ROOT, env: { ...process.env, RELAY_DATA_DIR: p.dataDir } });
    expect(cli.stdout.toString()).toContain(`health as seen by instance ${String(h.instance).slice(0, 8)}`);
    await p.stop();
  }, T);
});
