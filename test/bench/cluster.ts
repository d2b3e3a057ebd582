/**
 * `bun run bench --cluster`: what cluster mode costs. One embedded relay (SQLite) and one cluster-mode relay
 * (PostgreSQL and Redis from test/support/services.ts, on a fresh database and key prefix) run side by side
 * against the same upstream (mock-server.ts's fast server), each with the same user, key, channel and price,
 * and take the same load at c=32 in alternating short runs, json then stream. Printed: the throughput of
 * cluster over embedded (median of the pairs), whether it reaches 0.4×, and the extra round trips per
 * request, counted as explained in the output. Both relays run from source (`bun server/main.ts`), so the
 * ratio needs no build and is not disturbed by one. Nothing here fails the bench on a number.
 */
import { RedisClient, SQL } from "bun";
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { RELEASE, RELEASE_SLOTS, RENEW, TAKE, TAKE_SLOTS, UNDO } from "../../server/limits/redis-slots-lua";
import type { LoadResult } from "./loadgen";
import { ROOT, cpuSecondsOf, removeDir, setupTenant, spawnAnnouncing, startRelayProcess, tempDir, type RelayProcess } from "./processes";
import { freshDatabase, keyPrefix, services, type FreshDatabase } from "../support/services";

const QUICK = process.env.BENCH_QUICK === "1";
const PAIRS = QUICK ? 3 : 5;
const RUN_S = QUICK ? 2 : 3;
const CONCURRENCY = 32;
const TARGET = 0.4;
const MODEL = "gpt-bench";
const MANY_FETCHES = { BUN_CONFIG_MAX_HTTP_REQUESTS: "4096" };
const WRK = process.env.BENCH_LOADGEN === "bun" ? null : Bun.which("wrk");
const hello = [{ role: "user", content: "Say hello to the benchmark." }];
const MODES = { json: JSON.stringify({ model: MODEL, messages: hello }), stream: JSON.stringify({ model: MODEL, messages: hello, stream: true }) };
type Mode = keyof typeof MODES;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** c=32 for `seconds` against one relay: wrk when installed (as the main bench), else test/bench/loadgen.ts. */
async function load(base: string, key: string, mode: Mode, seconds: number): Promise<LoadResult> {
  const url = `${base}/v1/chat/completions`;
  if (WRK) {
    const p = Bun.spawn([WRK, "-t1", `-c${CONCURRENCY}`, `-d${seconds}s`, "--timeout", "10s", "-s", join(import.meta.dir, "wrk.lua"), url], {
      cwd: ROOT, stdout: "pipe", stderr: "inherit", env: { ...process.env, BENCH_BODY: MODES[mode], BENCH_AUTH: key },
    });
    const out = await new Response(p.stdout).text();
    await p.exited;
    const r = JSON.parse(/BENCH_JSON (\{.*\})/.exec(out)?.[1] ?? "null");
    if (!r) throw new Error(`wrk printed no result:\n${out}`);
    const errors = r.connect + r.read + r.write + r.status + r.timeout;
    const secs = r.duration_us / 1e6;
    return { requests: r.requests, errors, failures: {}, seconds: secs, rps: r.requests / secs, latency: { p50: r.p50_us / 1000, p99: r.p99_us / 1000, mean: r.mean_us / 1000, max: r.max_us / 1000 }, ttfc: null };
  }
  const spec = { mode: "load", url, body: MODES[mode], concurrency: CONCURRENCY, durationMs: seconds * 1000, stream: mode === "stream", headers: { "content-type": "application/json", authorization: `Bearer ${key}` } };
  const p = Bun.spawn([process.execPath, join(import.meta.dir, "loadgen.ts"), JSON.stringify(spec)], { cwd: ROOT, stdout: "pipe", stderr: "inherit", env: { ...process.env, ...MANY_FETCHES } });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`loadgen failed: ${out}`);
  return JSON.parse(out.trim().split("\n").pop()!) as LoadResult;
}

/** Commands the limiter's Lua scripts run inside Redis: INFO commandstats counts them too, but they cost no round trip. */
const IN_SCRIPTS = new Set([TAKE, TAKE_SLOTS, RELEASE, RELEASE_SLOTS, UNDO, RENEW].flatMap((src) => [...src.matchAll(/redis\.call\('([A-Z]+)'/g)].map((m) => m[1]!.toLowerCase())));

/** CPU seconds of a process and, for PostgreSQL's postmaster, its children (live ones, and those it reaped). */
function cpuOf(pid: number, withChildren = false): number {
  const fields = (p: number) => {
    const stat = readFileSync(`/proc/${p}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  };
  const f = fields(pid);
  let ticks = Number(f[11]) + Number(f[12]);
  if (withChildren) {
    ticks += Number(f[13]) + Number(f[14]);
    for (const d of readdirSync("/proc")) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const c = fields(Number(d));
        if (Number(c[1]) === pid) ticks += Number(c[11]) + Number(c[12]);
      } catch {
        // gone meanwhile
      }
    }
  }
  return ticks / 100;
}

/** The counters the round trips are read from: Redis commands sent by clients and PostgreSQL transactions of the bench's database. */
async function counters(redis: RedisClient, sql: SQL, db: string): Promise<{ redis: number; pg: number }> {
  const info = String(await redis.send("INFO", ["commandstats"]));
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) if (m[1] !== "info" && !IN_SCRIPTS.has(m[1]!)) calls += Number(m[2]);
  // Backends publish their statistics when idle (at most once a second): a fresh snapshot after the caller waited.
  await sql`SELECT pg_stat_clear_snapshot()`;
  const [r] = await sql`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = ${db}`;
  return { redis: calls, pg: Number(r.n) };
}

export async function clusterBench(): Promise<number> {
  const s = services();
  const relays: RelayProcess[] = [];
  const dirs: string[] = [];
  let db: FreshDatabase | null = null;
  let upstream: Awaited<ReturnType<typeof spawnAnnouncing>> | null = null;
  let sql: SQL | null = null;
  let redis: RedisClient | null = null;
  try {
    upstream = await spawnAnnouncing([process.execPath, join(import.meta.dir, "mock-server.ts")]);
    const { fast } = JSON.parse(upstream.line) as { fast: string };
    db = await freshDatabase();
    const embeddedDir = tempDir("relay-bench-embedded-");
    const clusterDir = tempDir("relay-bench-cluster-");
    dirs.push(embeddedDir, clusterDir);
    const embedded = await startRelayProcess({ dataDir: embeddedDir, env: MANY_FETCHES });
    relays.push(embedded);
    const cluster = await startRelayProcess({
      dataDir: clusterDir,
      env: { ...MANY_FETCHES, RELAY_DATABASE_URL: db.url, RELAY_REDIS_URL: s.redisUrl, RELAY_REDIS_PREFIX: keyPrefix("bench"), RELAY_MASTER_KEY: randomBytes(32).toString("base64") },
      timeoutMs: 30_000,
    });
    relays.push(cluster);
    const tenant = { user: "bench", model: MODEL, upstreams: [{ name: "bench-upstream", baseUrl: `${fast}/v1` }], credits: 1e12, concurrency: 100_000, price: { inputPerMTok: 1, outputPerMTok: 2 } };
    const keys = { embedded: (await setupTenant(embedded.admin, tenant)).key, cluster: (await setupTenant(cluster.admin, tenant)).key };
    const health = await cluster.admin.health();
    if (health.mode !== "cluster") throw new Error(`the cluster relay runs in ${health.mode} mode`);
    console.log(`cluster bench: embedded (SQLite) vs cluster mode (PostgreSQL ${s.pgPort}, Redis ${s.redisPort}), c=${CONCURRENCY}, ${PAIRS} alternating pairs of ${RUN_S} s per mode, load: ${WRK ? "wrk" : "loadgen.ts"}; both from source`);
    for (const mode of Object.keys(MODES) as Mode[]) for (const [t, r] of [["embedded", embedded], ["cluster", cluster]] as const) await load(r.url, keys[t], mode, 1);

    redis = new RedisClient(s.redisUrl);
    sql = new SQL(s.adminUrl, { max: 1 });
    // Idle traffic (change polls, heartbeats, sweeps) over a few seconds, taken off the loaded runs below.
    const idleMs = 4000;
    await Bun.sleep(1200);
    const idle0 = await counters(redis, sql, db.name);
    await Bun.sleep(idleMs);
    const idle1 = await counters(redis, sql, db.name);
    const idleRate = { redis: (idle1.redis - idle0.redis) / idleMs, pg: (idle1.pg - idle0.pg) / idleMs };

    const pgPid = Number(readFileSync(join(process.env.RELAY_TEST_PGDATA!, "postmaster.pid"), "utf8").split("\n")[0]);
    const redisPid = Number(readFileSync(process.env.RELAY_TEST_REDIS_PIDFILE!, "utf8").trim());
    /** CPU µs per request, summed over the runs: the embedded relay; the cluster relay, PostgreSQL and Redis. */
    const cpu = { embedded: 0, embeddedRequests: 0, relay: 0, pg: 0, redis: 0, clusterRequests: 0 };
    const ratios: Record<Mode, number[]> = { json: [], stream: [] };
    const trips: Record<Mode, { redis: number[]; pg: number[] }> = { json: { redis: [], pg: [] }, stream: { redis: [], pg: [] } };
    let errors = 0;
    for (const mode of Object.keys(MODES) as Mode[]) {
      for (let i = 0; i < PAIRS; i++) {
        const e0 = cpuSecondsOf(embedded.pid);
        const e = await load(embedded.url, keys.embedded, mode, RUN_S);
        cpu.embedded += cpuSecondsOf(embedded.pid) - e0;
        cpu.embeddedRequests += e.requests;
        await Bun.sleep(1200);
        const c0 = await counters(redis, sql, db.name);
        const t0 = performance.now();
        const before = { relay: cpuSecondsOf(cluster.pid), pg: cpuOf(pgPid, true), redis: cpuOf(redisPid) };
        const c = await load(cluster.url, keys.cluster, mode, RUN_S);
        cpu.relay += cpuSecondsOf(cluster.pid) - before.relay;
        cpu.pg += cpuOf(pgPid, true) - before.pg;
        cpu.redis += cpuOf(redisPid) - before.redis;
        cpu.clusterRequests += c.requests;
        await Bun.sleep(1200); // the writer's last batch, and the statistics it leaves, land
        const c1 = await counters(redis, sql, db.name);
        const elapsed = performance.now() - t0;
        errors += e.errors + c.errors;
        ratios[mode].push(c.rps / e.rps);
        trips[mode].redis.push((c1.redis - c0.redis - idleRate.redis * elapsed) / c.requests);
        trips[mode].pg.push((c1.pg - c0.pg - idleRate.pg * elapsed) / c.requests);
        console.log(`  ${mode.padEnd(6)} embedded ${e.rps.toFixed(0).padStart(6)} req/s   cluster ${c.rps.toFixed(0).padStart(6)} req/s   ratio ${(c.rps / e.rps).toFixed(2)}${e.errors + c.errors ? `   ERRORS ${e.errors + c.errors}` : ""}`);
      }
    }

    console.log("");
    for (const mode of Object.keys(MODES) as Mode[]) {
      const ratio = median(ratios[mode]);
      console.log(`${mode.padEnd(6)} cluster/embedded throughput: median ${ratio.toFixed(2)}× [${ratios[mode].map((x) => x.toFixed(2)).join(", ")}] — ${ratio >= TARGET ? "reaches" : "does NOT reach"} ${TARGET}×`);
      // Every PostgreSQL call is one transaction and one round trip (relay_reserve_balance for a turn's
      // reservations, relay_settle for a batch of settlements); every Redis command is one round trip.
      const t = median(trips[mode].pg);
      const r = median(trips[mode].redis);
      console.log(`${"".padEnd(6)} extra round trips per request: Redis ${r.toFixed(2)}, PostgreSQL ${t.toFixed(2)} (a request shares its reservation call, its slot take and release and its settlement batch with the requests of the same event-loop turn or flush)`);
    }
    const us = (sec: number, n: number) => ((sec * 1e6) / n).toFixed(0);
    console.log(`CPU per request (µs, both modes together; this machine has ${cpus().length} cores for the relays, PostgreSQL, Redis, the load and the upstream):
  embedded relay ${us(cpu.embedded, cpu.embeddedRequests)}; cluster relay ${us(cpu.relay, cpu.clusterRequests)} + PostgreSQL ${us(cpu.pg, cpu.clusterRequests)} + Redis ${us(cpu.redis, cpu.clusterRequests)}`);
    console.log(`
How the round trips are counted (embedded mode makes none: its state is in the process and SQLite is a file):
  Redis: the delta of INFO commandstats calls over each cluster run, leaving out INFO itself and the commands
    the limiter's Lua scripts run inside Redis (${[...IN_SCRIPTS].join(", ")}): what a client sent, each
    awaited, so one command is one round trip (a script is one EVALSHA).
  PostgreSQL: the delta of pg_stat_database.xact_commit + xact_rollback of the bench's database (read after
    1.2 s, when backends have published their counts). Each call relay makes is one statement, one transaction
    and one round trip: relay_reserve_balance (the reservations of one event-loop turn), relay_reserve (a request
    with a key spend limit, a member cap or a quota), relay_settle (a batch of settlements), the room read.
  Idle traffic (change polls every 200 ms, heartbeats, hold sweeps: ${(idleRate.redis * 1000).toFixed(1)} Redis commands/s and
    ${(idleRate.pg * 1000).toFixed(1)} PostgreSQL transactions/s measured over ${idleMs / 1000} s idle) is subtracted.`);
    return errors > 0 ? 1 : 0;
  } catch (e) {
    console.error(`cluster bench failed: ${(e as Error).stack ?? e}`);
    for (const r of relays) console.error(`relay log (${r.logPath}):\n${r.logTail()}`);
    return 1;
  } finally {
    redis?.close();
    await sql?.close({ timeout: 0 }).catch(() => {});
    for (const r of relays) await r.stop().catch(() => {});
    upstream?.proc.kill("SIGTERM");
    for (const d of dirs) removeDir(d);
    await db?.drop().catch(() => {});
  }
}
