/**
 * A relay cluster for the cluster tests and drills: N `bun server/main.ts serve` child processes on one
 * fresh PostgreSQL database and one Redis key prefix (test/support/services.ts), each on its own data
 * dir and a fixed port (so a restarted instance comes back where the balancer expects it), plus the
 * faults a drill needs (kill -9, SIGSTOP/SIGCONT, restart on the same data dir) and the checks it makes
 * afterwards, read straight from PostgreSQL.
 */
import { SQL } from "bun";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { pgInvariants, type Invariant } from "../../db/invariants";
import type { AdminClient } from "../../tui/client";
import { freePort, removeDir, startRelayProcess, tempDir, type RelayProcess } from "../bench/processes";
import { freshDatabase, keyPrefix, services, type FreshDatabase } from "../support/services";

export type Instance = {
  /** 1-based, as the tests name them. */
  n: number;
  port: number;
  url: string;
  dataDir: string;
  admin: AdminClient;
  proc: RelayProcess;
  /** SIGKILL: no shutdown code runs; the journal in its data dir is what a restart replays. */
  kill9(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGSTOP: alive but silent (no heartbeat, no lease renewal), as a process stuck in a long GC or swap. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Starts it again on the same data dir and port (after kill9 or stop); waits until it is healthy. */
  restart(): Promise<void>;
  logTail(lines?: number): string;
  /** Its log file's size now, and what was written to it after such a size: to look for one message in a window. */
  logSize(): number;
  logSince(size: number): string;
};

export type Cluster = {
  instances: Instance[];
  db: FreshDatabase;
  /** A pool on the cluster's database, for the checks. */
  sql: SQL;
  prefix: string;
  /** The environment every instance got (without its data dir and port). */
  env: Record<string, string>;
  /** Stops every instance and drops the database; `keep` leaves the data dirs and logs (printed) for a look. */
  stop(opts?: { keep?: boolean }): Promise<void>;
};

export type ClusterOptions = {
  /** @default 3 */
  size?: number;
  /** Extra RELAY_* variables for every instance (e.g. RELAY_LEASE_TTL_MS). */
  env?: Record<string, string>;
  /** In key prefixes and temp dir names. @default "cluster" */
  label?: string;
};

/** Waits until the instance's admin socket answers /health in cluster mode, seeing PostgreSQL and Redis. */
export async function waitHealthy(admin: AdminClient, timeoutMs = 15_000): Promise<Record<string, any>> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const h = await admin.health();
      if (h.mode === "cluster" && h.postgres === "reachable" && h.redis === "reachable") return h;
      last = h;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`instance not healthy after ${timeoutMs} ms: ${JSON.stringify(last)}`);
    await Bun.sleep(50);
  }
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const s = services();
  const label = opts.label ?? "cluster";
  const db = await freshDatabase();
  const prefix = keyPrefix(label);
  const env: Record<string, string> = {
    RELAY_DATABASE_URL: db.url,
    RELAY_REDIS_URL: s.redisUrl,
    RELAY_REDIS_PREFIX: prefix,
    RELAY_MASTER_KEY: randomBytes(32).toString("base64"),
    RELAY_LOG_LEVEL: "info",
    ...opts.env,
  };
  const sql = new SQL(db.url, { max: 4 });
  const instances: Instance[] = [];

  const launch = async (n: number, dataDir: string, port: number): Promise<RelayProcess> => {
    const proc = await startRelayProcess({ dataDir, env: { ...env, RELAY_PORT: String(port) }, timeoutMs: 30_000 });
    await waitHealthy(proc.admin);
    return proc;
  };
  const make = (n: number, dataDir: string, port: number, first: RelayProcess): Instance => {
    const inst: Instance = {
      n, port, dataDir, url: first.url, admin: first.admin, proc: first,
      kill9: () => inst.proc.kill9(),
      stop: () => inst.proc.stop(),
      pause: () => void inst.proc.proc.kill("SIGSTOP"),
      resume: () => void inst.proc.proc.kill("SIGCONT"),
      async restart() {
        if (inst.proc.proc.exitCode === null && inst.proc.proc.signalCode === null) throw new Error(`instance ${n} is still running`);
        inst.proc = await launch(n, dataDir, port);
        inst.admin = inst.proc.admin;
      },
      logTail: (lines) => inst.proc.logTail(lines),
      logSize: () => statSync(inst.proc.logPath).size,
      logSince: (size) => readFileSync(inst.proc.logPath).subarray(size).toString(),
    };
    return inst;
  };

  try {
    const size = opts.size ?? 3;
    const dirs = Array.from({ length: size }, (_, i) => tempDir(`relay-${label}-${i + 1}-`));
    const ports = dirs.map(() => freePort());
    // The first applies the migrations to the empty database; the others then start side by side.
    const first = await launch(1, dirs[0]!, ports[0]!);
    instances.push(make(1, dirs[0]!, ports[0]!, first));
    const rest = await Promise.all(dirs.slice(1).map((d, i) => launch(i + 2, d, ports[i + 1]!)));
    rest.forEach((p, i) => instances.push(make(i + 2, dirs[i + 1]!, ports[i + 1]!, p)));
  } catch (err) {
    for (const i of instances) await i.proc.kill9().catch(() => {});
    await sql.close({ timeout: 0 }).catch(() => {});
    await db.drop().catch(() => {});
    throw err;
  }

  return {
    instances, db, sql, prefix, env,
    async stop(o = {}) {
      for (const i of instances) {
        i.resume(); // a paused process cannot handle SIGTERM
        await i.stop().catch(() => {});
        if (o.keep) console.log(`instance ${i.n}: kept ${i.dataDir} and its log ${i.proc.logPath}`);
        else removeDir(i.dataDir);
      }
      await sql.close({ timeout: 0 }).catch(() => {});
      await db.drop().catch(() => {});
    },
  };
}

export type TenantSpec = {
  /** The one channel's upstream, e.g. `${mock.url}/v1`. */
  baseUrl: string;
  model: string;
  price: { inputPerMTok: number; outputPerMTok: number; perRequest?: number };
  users: { name: string; credits: number; concurrency?: number; rpm?: number | null; keyRpm?: number | null }[];
  /** Channel name. @default the model's */
  channel?: string;
};

/**
 * A price, a channel, users with credits and one key each, all through one instance's admin socket.
 * Returns each user's key once every instance in `waitOn` (base URLs) serves the model: the others learn
 * of the channel by polling (server/cluster/changes.ts), and the price, written first, comes with it.
 */
export async function setupTenants(admin: AdminClient, spec: TenantSpec, waitOn: string[] = []): Promise<Record<string, { key: string; id: number }>> {
  await admin.prices.set(spec.model, { perRequest: 0, ...spec.price });
  await admin.channels.create({ name: spec.channel ?? spec.model, group: "official", baseUrl: spec.baseUrl, apiKey: "sk-upstream", models: [spec.model] });
  const keys: Record<string, { key: string; id: number }> = {};
  for (const u of spec.users) {
    await admin.users.create({ name: u.name, credits: u.credits, concurrency: u.concurrency ?? 1000, ...(u.rpm != null ? { rpm: u.rpm } : {}) });
    const k = await admin.keys.create({ user: u.name, label: `${u.name}-key`, ...(u.keyRpm != null ? { rpm: u.keyRpm } : {}) });
    keys[u.name] = { key: k.key as string, id: k.id as number };
  }
  await waitServed(waitOn, spec.model);
  return keys;
}

/** Waits until each base URL lists `model` in its public GET /v1/models. */
export async function waitServed(bases: string[], model: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (const base of bases) {
    for (;;) {
      const ids = await fetch(`${base}/v1/models`).then((r) => r.json(), () => ({ data: [] })) as { data: { id: string }[] };
      if (ids.data.some((m) => m.id === model)) break;
      if (Date.now() > end) throw new Error(`${base} does not serve ${model} after ${timeoutMs} ms`);
      await Bun.sleep(20);
    }
  }
}

/** A chat completion to `base`; the mock behaviour (x-mock-behavior) when given. */
export function chat(base: string, key: string, model: string, o: { stream?: boolean; mock?: object; signal?: AbortSignal; requestId?: string } = {}): Promise<Response> {
  return fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    signal: o.signal,
    headers: {
      authorization: `Bearer ${key}`, "content-type": "application/json",
      ...(o.mock ? { "x-mock-behavior": JSON.stringify(o.mock) } : {}),
      ...(o.requestId ? { "x-request-id": o.requestId } : {}),
    },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "cluster" }], stream: o.stream ?? false }),
  });
}

/** The error code of a refusal's body ("" when none). */
export async function errorCode(res: Response): Promise<string> {
  const text = await res.text();
  try {
    return JSON.parse(text)?.error?.code ?? "";
  } catch {
    return "";
  }
}

/** What PostgreSQL holds for running requests: hold rows and the accounts' held columns. */
export async function heldNow(sql: SQL): Promise<{ holds: number; held: number; heldTokens: number; negative: number }> {
  const [r] = await sql`SELECT (SELECT count(*) FROM holds) AS holds, coalesce(sum(held), 0) AS held, coalesce(sum(held_tokens), 0) AS held_tokens,
    count(*) FILTER (WHERE held < 0 OR held_tokens < 0) AS negative FROM accounts`;
  return { holds: Number(r.holds), held: Number(r.held), heldTokens: Number(r.held_tokens), negative: Number(r.negative) };
}

/** Waits until nothing is held (no hold rows, every held column 0); false with the last state if that never happens. */
export async function waitIdle(sql: SQL, timeoutMs = 20_000): Promise<{ ok: boolean; state: string }> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const h = await heldNow(sql).catch(() => null);
    const state = h ? `holds ${h.holds}, held ${h.held}, held tokens ${h.heldTokens}` : "PostgreSQL unreachable";
    if (h && h.holds === 0 && h.held === 0 && h.heldTokens === 0) return { ok: true, state };
    if (Date.now() > end) return { ok: false, state };
    await Bun.sleep(50);
  }
}

/** The shared invariants (db/invariants.ts): balance = ledger, nothing held, charges and usage rows one to one, ... */
export function invariants(sql: SQL): Promise<Invariant[]> {
  return pgInvariants(sql);
}

export type UsageRow = { requestId: string; status: number; errorCode: string | null; cost: number; charges: number; charged: number };

/** The usage row and ledger charges of each request id (absent: no usage row). */
export async function usageOf(sql: SQL, ids: string[]): Promise<Map<string, UsageRow>> {
  const out = new Map<string, UsageRow>();
  for (let i = 0; i < ids.length; i += 1000) {
    const rows = await sql.unsafe(
      `SELECT u.request_id, u.status, u.error_code, u.cost,
         (SELECT count(*) FROM ledger l WHERE l.ref = u.request_id AND l.kind = 'charge') AS charges,
         (SELECT coalesce(-sum(l.amount), 0) FROM ledger l WHERE l.ref = u.request_id AND l.kind = 'charge') AS charged
       FROM usage_log u WHERE u.request_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))`,
      [JSON.stringify(ids.slice(i, i + 1000))],
    );
    for (const r of rows) {
      out.set(String(r.request_id), {
        requestId: String(r.request_id), status: Number(r.status), errorCode: r.error_code ?? null,
        cost: Number(r.cost), charges: Number(r.charges), charged: Number(r.charged),
      });
    }
  }
  return out;
}

/**
 * Every answered request (a 200 whose client saw the whole answer) has its usage row, with status 200
 * and exactly one charge of its cost, and that cost is above 0 (the tests price every request).
 * Returns the ids that fail, each with why.
 */
export async function unanswered(sql: SQL, answeredIds: string[]): Promise<string[]> {
  const rows = await usageOf(sql, answeredIds);
  const bad: string[] = [];
  for (const id of answeredIds) {
    const r = rows.get(id);
    if (!r) bad.push(`${id}: no usage row`);
    else if (r.status !== 200 || r.cost <= 0 || r.charges !== 1 || r.charged !== r.cost) bad.push(`${id}: status ${r.status} ${r.errorCode ?? ""} cost ${r.cost}, ${r.charges} charges of ${r.charged}`);
  }
  return bad;
}
