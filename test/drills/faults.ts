/**
 * `bun run drill:faults [--long] [--seed N]`: three mock upstreams misbehave under load while the relay
 * (a child process, as in production) serves two users and their org (member and service keys) through them.
 *
 * Phases: healthy → 5xx bursts and 429 with Retry-After → hangs and resets mid-stream → slow drips (one
 * slower than the idle timeout) → total outage → recovery. Clients mix plain and streamed requests and
 * sometimes hang up after the first chunk. Checked, with no timing threshold on the relay's speed:
 * - failover: once a phase has served one request, every later request that starts and ends in that
 *   phase succeeds, because one channel is always healthy (the outage phase excepted); a stream may end
 *   with the relay's error event only where a phase cuts streams on purpose;
 * - every request gets a well-formed answer (no hang, no dropped connection, no 500 of the relay's own);
 * - slots and holds are released (in flight 0, held 0) and no upstream request is left open;
 * - each request is logged once and charged at most once: see accountingChecks in support.ts;
 * - the relay stays responsive: GET /v1/models answers throughout.
 * Short mode (default, CI) takes about 30 s; --long runs each phase longer, twice, with more clients.
 */
import { startMockUpstream, type MockOptions, type MockUpstream } from "../support/mock-upstream";
import { removeDir, setupTenant, startRelayProcess, tempDir, type RelayProcess } from "../bench/processes";
import { Checks, accountingChecks, liveMatchesDb, openDb, readStream, rng, waitSettled } from "./support";

const LONG = process.argv.includes("--long");
const seedArg = process.argv.indexOf("--seed");
const SEED = seedArg > 0 ? Number(process.argv[seedArg + 1]) : Math.floor(Math.random() * 2 ** 31);
const PHASE_S = LONG ? 20 : 4;
const WORKERS = LONG ? 32 : 12;
const MODEL = "gpt-drill";
const USERS = ["alice", "bob"];
/** An org the two users share: its members' keys and a service key draw on one balance. */
const ORG = "drillco";
const ACCOUNTS = [...USERS, `org:${ORG}`];
const REQUEST_TIMEOUT_MS = 20_000;

type Mocks = { a: MockUpstream; b: MockUpstream; c: MockUpstream };
type Phase = {
  name: string;
  /** A channel stays healthy all phase long, so requests must succeed. */
  healthy: boolean;
  /** Some channel cuts or stalls streams after their first bytes, which no failover can undo. */
  midStream: boolean;
  /** Sets the mocks; may return a stop function for timers it started. */
  setup: (m: Mocks) => (() => void) | void;
};

const ok: MockOptions = { behavior: "normal" };
const phases: Phase[] = [
  { name: "healthy", healthy: true, midStream: false, setup: (m) => { m.a.set(ok); m.b.set(ok); m.c.set(ok); } },
  {
    name: "5xx bursts, 429 + Retry-After", healthy: true, midStream: false,
    setup: (m) => {
      const burst: MockOptions[] = [{ behavior: "status", status: 500 }, { behavior: "status", status: 503 }, ok];
      let i = 0;
      m.a.set(burst[0]!);
      const t = setInterval(() => m.a.set(burst[++i % burst.length]!), 300);
      m.b.set({ behavior: "status", status: 429, retryAfter: 1 });
      m.c.set(ok);
      return () => clearInterval(t);
    },
  },
  {
    name: "hangs, resets mid-stream", healthy: true, midStream: true,
    setup: (m) => { m.a.set({ behavior: "hang" }); m.b.set(ok); m.c.set({ behavior: "disconnect", chunks: 2 }); },
  },
  {
    name: "slow drips (one past the idle timeout)", healthy: true, midStream: true,
    setup: (m) => { m.a.set({ behavior: "drip", delayMs: 100 }); m.b.set({ behavior: "drip", delayMs: 1500 }); m.c.set(ok); },
  },
  {
    name: "outage", healthy: false, midStream: true,
    setup: (m) => { m.a.set({ behavior: "status", status: 500 }); m.b.set({ behavior: "status", status: 429, retryAfter: 2 }); m.c.set({ behavior: "hang" }); },
  },
  { name: "recovery", healthy: true, midStream: false, setup: (m) => { m.a.set(ok); m.b.set(ok); m.c.set(ok); } },
];
const schedule = LONG ? [phases[0]!, ...phases.slice(1), ...phases.slice(1)] : phases;

type Outcome = "done" | "error_event" | "aborted" | "cut" | "http_error" | "client_timeout" | "transport_error";
type Req = { start: number; end: number; stream: boolean; status: number; outcome: Outcome; id: string | null; code: string | null };

async function main(): Promise<number> {
  console.log(`fault drill (${LONG ? "long" : "short"}): ${schedule.length} phases of ${PHASE_S} s, ${WORKERS} clients, seed ${SEED}`);
  const random = rng(SEED);
  const checks = new Checks();
  const m: Mocks = { a: await startMockUpstream("a"), b: await startMockUpstream("b"), c: await startMockUpstream("c") };
  const dataDir = tempDir("relay-drill-faults-");
  let relay: RelayProcess | null = null;
  try {
    relay = await startRelayProcess({
      dataDir,
      env: {
        RELAY_FIRST_BYTE_TIMEOUT_MS: "1000", RELAY_STREAM_IDLE_TIMEOUT_MS: "1000",
        RELAY_BREAKER_THRESHOLD: "3", RELAY_BREAKER_COOLDOWN_MS: "500", RELAY_MAX_ATTEMPTS: "3",
      },
    });
    const keys: string[] = [];
    const t1 = await setupTenant(relay.admin, {
      user: USERS[0]!, model: MODEL, credits: 1_000_000_000, concurrency: 1000,
      upstreams: [{ name: "a", baseUrl: `${m.a.url}/v1` }, { name: "b", baseUrl: `${m.b.url}/v1` }, { name: "c", baseUrl: `${m.c.url}/v1` }],
    });
    keys.push(t1.key);
    await relay.admin.users.create({ name: USERS[1]!, credits: 1_000_000_000, concurrency: 1000 });
    keys.push((await relay.admin.keys.create({ user: USERS[1]!, label: "drill" })).key as string);
    await relay.admin.orgs.create({ name: ORG, credits: 1_000_000_000, concurrency: 1000 });
    await relay.admin.orgs.addMember(ORG, { user: USERS[0]!, role: "member", monthlySpend: 1_000_000_000 });
    await relay.admin.orgs.addMember(ORG, { user: USERS[1]!, role: "admin" });
    for (const member of USERS) keys.push((await relay.admin.keys.create({ org: ORG, member, label: `drill-${member}` })).key as string);
    keys.push((await relay.admin.keys.create({ org: ORG, service: true, label: "drill-service" })).key as string);
    const url = `${relay.url}/v1/chat/completions`;

    // Responsiveness probe: the public model list, four times a second, all drill long.
    const probes: { ms: number; ok: boolean }[] = [];
    let stopping = false;
    const probe = (async () => {
      while (!stopping) {
        const t = performance.now();
        const good = await fetch(`${relay!.url}/v1/models`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status === 200, () => false);
        probes.push({ ms: performance.now() - t, ok: good });
        await Bun.sleep(250);
      }
    })();

    const reqs: Req[] = [];
    const worker = async (w: number) => {
      while (!stopping) {
        const stream = random() < 0.5;
        const hangUp = stream && random() < 0.1;
        const key = keys[w % keys.length]!;
        const ctrl = new AbortController();
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          ctrl.abort();
        }, REQUEST_TIMEOUT_MS);
        const r: Req = { start: performance.now(), end: 0, stream, status: 0, outcome: "transport_error", id: null, code: null };
        try {
          const res = await fetch(url, {
            method: "POST", signal: ctrl.signal,
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: `drill ${w}` }], stream }),
          });
          r.status = res.status;
          r.id = res.headers.get("x-request-id");
          if (res.status === 200 && stream) {
            r.outcome = await readStream(res, hangUp ? () => ctrl.abort() : null);
          } else {
            const text = await res.text();
            if (res.status === 200) r.outcome = text.includes('"chat.completion"') ? "done" : "cut";
            else {
              r.outcome = "http_error";
              try {
                r.code = JSON.parse(text)?.error?.code ?? null;
              } catch {
                r.code = "not-json";
              }
            }
          }
        } catch {
          r.outcome = timedOut ? "client_timeout" : "transport_error";
        }
        clearTimeout(timer);
        r.end = performance.now();
        reqs.push(r);
      }
    };
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));

    const bounds: { phase: Phase; from: number; to: number }[] = [];
    for (const phase of schedule) {
      const from = performance.now();
      const stop = phase.setup(m);
      process.stdout.write(`  phase ${bounds.length + 1}: ${phase.name} … `);
      await Bun.sleep(PHASE_S * 1000);
      if (stop) stop();
      bounds.push({ phase, from, to: performance.now() });
      console.log(`${reqs.filter((r) => r.start >= from).length} requests so far in this phase`);
    }
    stopping = true;
    await Promise.all(workers);
    await probe;

    // Judge every request by the phases it lived through.
    const spanOf = (r: Req) => bounds.filter((b) => r.end >= b.from && r.start < b.to);
    const firstSuccess = bounds.map((b) => Math.min(...reqs.filter((r) => r.start >= b.from && r.start < b.to && r.outcome === "done").map((r) => r.end)));
    const bad: string[] = [];
    const perPhase = bounds.map(() => ({ total: 0, ok: 0, midStream: 0, hungUp: 0, failed: 0, excused: 0 }));
    for (const r of reqs) {
      const span = spanOf(r);
      const i = bounds.indexOf(span[0]!);
      const stat = perPhase[i]!;
      stat.total++;
      const label = `${span.map((b) => b.phase.name).join(" → ")}: ${r.stream ? "stream" : "plain"} ${r.status || ""} ${r.outcome}${r.code ? ` (${r.code})` : ""}`;
      // Never acceptable: no answer, a dropped connection, or the relay's own 500.
      const wellFormed = r.outcome !== "client_timeout" && r.outcome !== "transport_error"
        && (r.outcome !== "http_error" || ([429, 502, 503, 504].includes(r.status) || (r.status === 500 && r.code !== "internal_error")) && r.code !== "not-json");
      if (!wellFormed) {
        stat.failed++;
        bad.push(label);
        continue;
      }
      if (r.outcome === "done") stat.ok++;
      else if (r.outcome === "aborted") stat.hungUp++;
      const midStreamAllowed = span.some((b) => b.phase.midStream);
      if (r.outcome === "error_event" || r.outcome === "cut") {
        if (midStreamAllowed && r.outcome === "error_event") {
          stat.midStream++;
          continue;
        }
        stat.failed++;
        bad.push(label);
        continue;
      }
      if (r.outcome === "http_error") {
        // Must succeed: inside one healthy phase, after that phase's first success.
        const mustSucceed = span.length === 1 && span[0]!.phase.healthy && r.start > firstSuccess[i]!;
        if (mustSucceed) {
          stat.failed++;
          bad.push(label);
        } else stat.excused++;
      }
    }
    console.log("\nphase                                      requests   ok  mid-stream cut  hung up  excused  failed");
    bounds.forEach((b, i) => {
      const s = perPhase[i]!;
      console.log(`  ${b.phase.name.padEnd(40)} ${String(s.total).padStart(8)} ${String(s.ok).padStart(4)} ${String(s.midStream).padStart(15)} ${String(s.hungUp).padStart(8)} ${String(s.excused).padStart(8)} ${String(s.failed).padStart(7)}`);
    });
    const healthyWithoutSuccess = bounds.filter((b, i) => b.phase.healthy && !Number.isFinite(firstSuccess[i]!)).map((b) => b.phase.name);
    checks.add("requests succeed in every phase with a healthy channel", healthyWithoutSuccess.length === 0, `no success in: ${healthyWithoutSuccess.join(", ")}`);
    checks.add("failover: every request answered as expected for its phase", bad.length === 0, `${bad.length} not: ${[...new Set(bad)].slice(0, 5).join(" | ")}`);
    const probeMax = Math.max(...probes.map((p) => p.ms));
    checks.add("the relay stays responsive (GET /v1/models answered every time)", probes.length > 0 && probes.every((p) => p.ok),
      `${probes.filter((p) => !p.ok).length} of ${probes.length} probes failed`);
    console.log(`  /v1/models probes: ${probes.length}, slowest ${probeMax.toFixed(1)} ms`);

    const settled = await waitSettled(relay.admin, ACCOUNTS);
    checks.add("slots and holds released (in flight 0, held 0)", settled.ok, settled.state);
    let open = "";
    for (let i = 0; i < 300; i++) {
      open = Object.values(m).filter((x) => x.inFlight > 0).map((x) => `${x.name}: ${x.inFlight}`).join(", ");
      if (!open) break;
      await Bun.sleep(50);
    }
    checks.add("no upstream request left open", open === "", open);
    await liveMatchesDb(relay.admin, ACCOUNTS, checks);

    const db = openDb(dataDir);
    try {
      accountingChecks(db, checks);
      const logged = db.query<{ request_id: string }, []>("SELECT request_id FROM usage_log").all().map((r) => r.request_id);
      const loggedSet = new Set(logged);
      const seen = reqs.map((r) => r.id).filter((id): id is string => id !== null);
      const missing = seen.filter((id) => !loggedSet.has(id));
      const seenSet = new Set(seen);
      const extra = logged.filter((id) => !seenSet.has(id));
      checks.add("each request the clients made is logged exactly once", missing.length === 0 && extra.length === 0 && loggedSet.size === logged.length,
        `${missing.length} answered but not logged, ${extra.length} logged but never seen`);
      console.log(`  usage rows ${logged.length}, charges ${db.query<{ n: number }, []>("SELECT count(*) AS n FROM ledger WHERE kind = 'charge'").get()!.n}`);
    } finally {
      db.close();
    }
    const alive = relay.proc.exitCode === null && (await fetch(`${relay.url}/v1/models`).then((r) => r.status === 200, () => false));
    checks.add("the relay is still up at the end", alive, `exit code ${relay.proc.exitCode}`);
  } catch (e) {
    checks.add("drill ran to the end", false, String((e as Error)?.stack ?? e));
  } finally {
    if (checks.failed.length && relay) console.log(`\nrelay log (last lines):\n${relay.logTail(30)}`);
    await relay?.stop();
    await Promise.all(Object.values(m).map((x) => x.stop()));
    removeDir(dataDir);
  }
  return checks.report(`fault drill summary (seed ${SEED}; repeat with --seed ${SEED}):`);
}

process.exit(await main());
