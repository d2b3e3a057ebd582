/**
 * Real PostgreSQL and Redis servers for the cluster-mode tests; no mocks.
 *
 * Under `.ci/run` the servers are already up: `.ci/services.sh` exported RELAY_TEST_DATABASE_URL,
 * RELAY_TEST_REDIS_URL and the paths a drill needs (RELAY_TEST_SERVICES_DIR, RELAY_TEST_PG_CTL, ...),
 * and this module uses them. A developer running `bun test` directly has none: then the first helper
 * called starts a fresh PostgreSQL cluster and Redis with `bash .ci/services.sh start` (the same
 * script, so the same setup: loopback ports, a temp dir, Debian's packages installed when missing),
 * once per test process, and stops them when the process is gone: a watchdog (`services.sh watch`,
 * in its own session) polls for this process and stops them within a fraction of a second after it
 * ends, however it ends. (Bun 1.4.5's test runner emits no process "exit" event, so an exit handler
 * alone would leave the servers running after every `bun test`; under plain `bun script.ts`, a
 * drill, the exit handler below stops them at once.)
 *
 * The servers are shared by every test file of a run (and by every worker under `bun test
 * --parallel`, when CI started them), so a test isolates its data with `freshDatabase()` and
 * `keyPrefix()` rather than assuming an empty server, and a fault drill (stopPostgres, restartRedis)
 * is felt by whatever else runs at that moment.
 */
import { RedisClient, SQL } from "bun";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

const SCRIPT = join(import.meta.dir, "..", "..", ".ci", "services.sh");

export type Services = {
  /** postgres://relay:PW@127.0.0.1:PORT/relay_test; role relay has LOGIN CREATEDB and owns relay_test. */
  databaseUrl: string;
  /** The same cluster as its superuser (postgres), database postgres. */
  adminUrl: string;
  /** redis://127.0.0.1:PORT */
  redisUrl: string;
  pgPort: number;
  redisPort: number;
  /** The temp folder holding both servers (RELAY_TEST_SERVICES_DIR). */
  dir: string;
  /** True when this process started them (and so stops them at exit). */
  ownedHere: boolean;
};

let current: Services | undefined;

function read(env: NodeJS.ProcessEnv, ownedHere: boolean): Services {
  const need = (k: string) => {
    const v = env[k];
    if (!v) throw new Error(`test services: ${k} is not set (RELAY_TEST_DATABASE_URL and RELAY_TEST_REDIS_URL are, so something exported half of .ci/services.sh's variables)`);
    return v;
  };
  return {
    databaseUrl: need("RELAY_TEST_DATABASE_URL"),
    adminUrl: need("RELAY_TEST_PG_ADMIN_URL"),
    redisUrl: need("RELAY_TEST_REDIS_URL"),
    pgPort: Number(need("RELAY_TEST_PG_PORT")),
    redisPort: Number(need("RELAY_TEST_REDIS_PORT")),
    dir: need("RELAY_TEST_SERVICES_DIR"),
    ownedHere,
  };
}

/** The servers, started on first call when the environment has none. */
export function services(): Services {
  if (current) return current;
  if (process.env.RELAY_TEST_DATABASE_URL && process.env.RELAY_TEST_REDIS_URL) {
    current = read(process.env, false);
    return current;
  }
  // stderr is inherited: one "services: PostgreSQL ... on 127.0.0.1:PORT" line, or apt-get's output
  // the first time on a machine without the packages, or the reason it failed.
  const r = Bun.spawnSync(["bash", SCRIPT, "start"], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  if (r.exitCode !== 0) {
    throw new Error(`test services: \`bash .ci/services.sh start\` failed (exit ${r.exitCode}); its reasons are printed above`);
  }
  const vars: Record<string, string> = {};
  for (const line of r.stdout.toString().split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0 && line.startsWith("RELAY_TEST_")) vars[line.slice(0, eq)] = line.slice(eq + 1);
  }
  // Children (a relay process under test, a drill) see the same servers.
  Object.assign(process.env, vars);
  current = read(process.env, true);
  const dir = current.dir;
  process.on("exit", () => {
    Bun.spawnSync(["bash", SCRIPT, "stop", dir], { stdin: "ignore", stdout: "ignore", stderr: "inherit" });
  });
  // `bun test` never runs this handler, and a kill -9 or a Ctrl-C skips it anywhere; the watchdog
  // (its own session, so the terminal's SIGINT does not reach it) stops the servers once this
  // process is gone.
  Bun.spawn(["setsid", "-f", "bash", SCRIPT, "watch", String(process.pid), dir], { stdio: ["ignore", "ignore", "ignore"] }).unref();
  return current;
}

/** The test role's URL for database relay_test. */
export function pgUrl(): string {
  return services().databaseUrl;
}

/** The superuser's URL (database postgres): for what the test role may not do. */
export function pgAdminUrl(): string {
  return services().adminUrl;
}

export function redisUrl(): string {
  return services().redisUrl;
}

/** `url` with its database replaced by `name`. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function withSql<T>(url: string, fn: (sql: SQL) => Promise<T>): Promise<T> {
  const sql = new SQL(url, { max: 1, connectionTimeout: 10 });
  try {
    return await fn(sql);
  } finally {
    await sql.close({ timeout: 0 });
  }
}

export type FreshDatabase = {
  /** relay_t_<time>_<random> */
  name: string;
  /** pgUrl() with that database */
  url: string;
  /** DROP DATABASE ... WITH (FORCE): closes whatever is still connected to it. Idempotent. */
  drop(): Promise<void>;
};

/** A new, empty database owned by the test role, so a test's tables are its own. */
export async function freshDatabase(): Promise<FreshDatabase> {
  const base = pgUrl();
  const name = `relay_t_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  await withSql(base, (sql) => sql.unsafe(`CREATE DATABASE ${name}`));
  let dropped = false;
  return {
    name,
    url: withDatabase(base, name),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await withSql(base, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** A unique key prefix ("relay-test:<label>:<random>:"), so tests sharing the Redis never collide. */
export function keyPrefix(label = "t"): string {
  return `relay-test:${label}:${randomBytes(6).toString("hex")}:`;
}

/** FLUSHALL: only for a test that owns the whole Redis at that moment (prefer keyPrefix()). */
export async function flushRedis(): Promise<void> {
  const r = new RedisClient(redisUrl(), { autoReconnect: false, enableOfflineQueue: false });
  try {
    await r.send("FLUSHALL", []);
  } finally {
    r.close();
  }
}

async function script(...args: string[]): Promise<void> {
  const s = services();
  const p = Bun.spawn(["bash", SCRIPT, ...args], {
    env: { ...process.env, RELAY_TEST_SERVICES_DIR: s.dir },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`test services: \`.ci/services.sh ${args.join(" ")}\` failed (exit ${code}): ${(err || out).trim()}`);
}

/**
 * `pg_ctl stop`: fast by default (clients are disconnected, a checkpoint is written); `immediate`
 * is a crash as far as the data goes (no checkpoint, crash recovery on the next start).
 */
export async function stopPostgres(opts: { immediate?: boolean } = {}): Promise<void> {
  await script("pg-stop", opts.immediate ? "immediate" : "fast");
}

/** `pg_ctl start -w`: returns once the server accepts connections again, on the same port. */
export async function startPostgres(): Promise<void> {
  await script("pg-start");
}

/** Stops Redis (SIGTERM; no persistence, so every key is gone). */
export async function stopRedis(): Promise<void> {
  await script("redis-stop");
}

/** Starts Redis again on the same port; returns once it answers PING. */
export async function startRedis(): Promise<void> {
  await script("redis-start");
}

/** stopRedis() then startRedis(): the new server starts empty. */
export async function restartRedis(): Promise<void> {
  await script("redis-restart");
}
