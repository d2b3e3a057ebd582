/**
 * `bun run bench`: the relay against two baselines on this machine, with one load generator.
 *
 * Processes: the upstream (test/bench/mock-server.ts), a bare pass-through proxy (test/bench/passthrough.ts)
 * and the relay (dist/relay, rebuilt when stale) with a user, key, channel and price, so every request
 * is authenticated, takes a concurrency slot, holds and settles credits and writes a usage row and a
 * ledger charge. Load: wrk with test/bench/wrk.lua when installed, else test/bench/loadgen.ts; time to
 * first chunk always comes from loadgen.ts. The throughput targets use the median ratio of alternating
 * pass-through/relay pairs at c=32 (less drift than one run each). Then the binary's start-up time and the
 * RSS with 1,000 open streams. Prints a table and writes .bench/results.json.
 *
 * `bun run bench --cluster` runs test/bench/cluster.ts instead: cluster mode's throughput over embedded mode's
 * and its round trips per request.
 *
 * Environment: BENCH_DURATION (seconds per run, default 5), BENCH_QUICK=1 (2 s runs, about a minute in
 * all), BENCH_LOADGEN=bun (ignore wrk), BENCH_OUT (result file).
 */
import { Database } from "bun:sqlite";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import type { Subprocess } from "bun";
import type { LoadResult, LoadSpec, HoldSpec } from "./loadgen";
import {
  BINARY, ROOT, binaryIsFresh, buildBinary, cpuSecondsOf, freePort, memoryOf, removeDir, setupTenant, spawnAnnouncing, startRelayProcess, tempDir,
  type RelayProcess,
} from "./processes";

const QUICK = process.env.BENCH_QUICK === "1";
const DURATION_S = Number(process.env.BENCH_DURATION ?? (QUICK ? 2 : 5));
const WARMUP_S = 1;
const LEVELS = [1, 32, 256];
/**
 * json and stream: chat completions to an openai channel. messages: Anthropic's Messages API streamed to an
 * anthropic channel (the same-shape byte path). translated: the same client request for a model only an
 * openai channel serves, so every event is translated (chat chunks in, Messages events out); its baselines
 * are the Messages stream sent straight to the upstream and through the bare proxy.
 */
const MODES = ["json", "stream", "messages", "translated"] as const;
/** The Messages modes are measured where the targets are judged and at c=1, not at every level. */
const LEVELS_OF: Record<string, number[]> = { json: LEVELS, stream: LEVELS, messages: [1, 32], translated: [1, 32] };
const TARGETS = ["direct", "passthrough", "relay"] as const;
const STARTUP_RUNS = QUICK ? 3 : 7;
const PAIRS = QUICK ? 3 : 5;
const PAIR_S = QUICK ? 1 : 2;
const OPEN_STREAMS = 1000;
const OUT = process.env.BENCH_OUT ?? join(ROOT, ".bench/results.json");
const WRK = process.env.BENCH_LOADGEN === "bun" ? null : Bun.which("wrk");
/** Bun's fetch sends at most 256 requests at once unless told otherwise at start (the relay's upstream calls too). */
const MANY_FETCHES = { BUN_CONFIG_MAX_HTTP_REQUESTS: "4096" };

type Mode = (typeof MODES)[number];
type Target = (typeof TARGETS)[number];
type Row = {
  mode: Mode; concurrency: number; target: Target; loadgen: string; requests: number; errors: number; rps: number;
  p50Ms: number; p99Ms: number; ttfcP50Ms: number | null; ttfcP99Ms: number | null;
  /** CPU time per request of the process under test (the mock itself for "direct"), and of the mock behind it. */
  cpuUsPerRequest: number; upstreamCpuUsPerRequest: number;
};

const MODEL = "gpt-bench";
const CLAUDE = "claude-bench";
const hello = [{ role: "user", content: "Say hello to the benchmark." }];
const bodies: Record<Mode, string> = {
  json: JSON.stringify({ model: MODEL, messages: hello }),
  stream: JSON.stringify({ model: MODEL, messages: hello, stream: true }),
  messages: JSON.stringify({ model: CLAUDE, max_tokens: 256, messages: hello, stream: true }),
  translated: JSON.stringify({ model: MODEL, max_tokens: 256, messages: hello, stream: true }),
};
const pathOf = (mode: Mode) => (mode === "messages" || mode === "translated" ? "/v1/messages" : "/v1/chat/completions");
const isStream = (mode: Mode) => mode !== "json";

const children: Subprocess[] = [];
const relays: RelayProcess[] = [];
const dirs: string[] = [];
async function cleanup() {
  for (const r of relays) await r.kill9().catch(() => {});
  for (const c of children) c.kill(9);
  for (const d of dirs) removeDir(d);
}
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));

const ms = (v: number | null | undefined, digits = 2) => (v === null || v === undefined || Number.isNaN(v) ? "-" : v.toFixed(digits));
const mb = (bytes: number) => bytes / (1024 * 1024);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function runBunLoad(spec: Omit<LoadSpec, "mode">): Promise<LoadResult> {
  const p = Bun.spawn([process.execPath, join(import.meta.dir, "loadgen.ts"), JSON.stringify({ mode: "load", ...spec })], {
    cwd: ROOT, stdout: "pipe", stderr: "inherit", env: { ...process.env, ...MANY_FETCHES },
  });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`loadgen failed: ${out}`);
  return JSON.parse(out.trim().split("\n").pop()!) as LoadResult;
}

async function runWrk(url: string, key: string, body: string, concurrency: number, seconds: number): Promise<LoadResult> {
  const p = Bun.spawn([WRK!, "-t1", `-c${concurrency}`, `-d${Math.max(1, Math.round(seconds))}s`, "--timeout", "10s", "-s", join(import.meta.dir, "wrk.lua"), url], {
    cwd: ROOT, stdout: "pipe", stderr: "inherit", env: { ...process.env, BENCH_BODY: body, BENCH_AUTH: key },
  });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const m = /BENCH_JSON (\{.*\})/.exec(out);
  if (!m) throw new Error(`wrk printed no result:\n${out}`);
  const r = JSON.parse(m[1]!);
  const errors = r.connect + r.read + r.write + r.status + r.timeout;
  const secs = r.duration_us / 1e6;
  const pct = { p50: r.p50_us / 1000, p99: r.p99_us / 1000, mean: r.mean_us / 1000, max: r.max_us / 1000 };
  return { requests: r.requests, errors, failures: errors ? { status: r.status, read: r.read, timeout: r.timeout, connect: r.connect } : {}, seconds: secs, rps: r.requests / secs, latency: pct, ttfc: null };
}

function load(base: string, key: string, mode: Mode, concurrency: number, seconds: number, forceBun = false): Promise<LoadResult> {
  const url = base + pathOf(mode);
  if (WRK && !forceBun) return runWrk(url, key, bodies[mode], concurrency, seconds);
  return runBunLoad({
    url, body: bodies[mode], concurrency, durationMs: seconds * 1000, stream: isStream(mode),
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
  });
}

/** Sends one request and checks the answer, so a broken set-up fails before any number is taken. */
async function check(base: string, key: string, mode: Mode): Promise<void> {
  const url = base + pathOf(mode);
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: bodies[mode] });
  const text = await res.text();
  const ends = mode === "json" ? text.includes('"chat.completion"') : mode === "stream" ? text.trimEnd().endsWith("data: [DONE]") : text.trimEnd().endsWith('data: {"type":"message_stop"}');
  const ok = res.status === 200 && ends;
  if (!ok) throw new Error(`${url} (${mode}) answered ${res.status}: ${text.slice(0, 300)}`);
}

async function startupTimes(runs: number): Promise<{ freshMs: number[]; existingMs: number[] }> {
  const once = async (dir: string): Promise<number> => {
    const port = freePort();
    const t0 = performance.now();
    const p = Bun.spawn([BINARY, "serve"], { env: { ...process.env, RELAY_DATA_DIR: dir, RELAY_PORT: String(port), RELAY_LOG_LEVEL: "warn" }, stdout: "ignore", stderr: "inherit" });
    const deadline = t0 + 10_000;
    let took = NaN;
    while (performance.now() < deadline && p.exitCode === null) {
      const ok = await fetch(`http://127.0.0.1:${port}/v1/models`).then((r) => r.status === 200, () => false);
      if (ok) {
        took = performance.now() - t0;
        break;
      }
      await Bun.sleep(1);
    }
    p.kill("SIGTERM");
    await p.exited;
    if (Number.isNaN(took)) throw new Error("dist/relay did not answer /v1/models within 10 s");
    return took;
  };
  const freshMs: number[] = [];
  const existingMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = tempDir("relay-bench-start-");
    dirs.push(dir);
    freshMs.push(await once(dir));
    existingMs.push(await once(dir));
  }
  return { freshMs, existingMs };
}

async function openStreams(mockUrl: string): Promise<{ open: number; failed: number; idleRssMb: number; rssMb: number; inFlight: number; releasedAfterClose: boolean }> {
  const dir = tempDir("relay-bench-streams-");
  dirs.push(dir);
  const relay = await startRelayProcess({ dataDir: dir, binary: true, env: MANY_FETCHES });
  relays.push(relay);
  const { key } = await setupTenant(relay.admin, {
    user: "bench", model: MODEL, upstreams: [{ name: "drip", baseUrl: `${mockUrl}/v1` }], credits: 1e12, concurrency: 100_000,
    price: { inputPerMTok: 1, outputPerMTok: 2 },
  });
  await check(relay.url, key, "json");
  await Bun.sleep(300);
  const idle = memoryOf(relay.pid).rss;
  const spec: HoldSpec = {
    mode: "hold", url: `${relay.url}/v1/chat/completions`, body: bodies.stream, count: OPEN_STREAMS, timeoutMs: 30_000,
    // The mock sends headers and a first chunk at once, then nothing for 30 s: every stream stays open.
    headers: { "content-type": "application/json", authorization: `Bearer ${key}`, "x-mock-behavior": JSON.stringify({ behavior: "drip", delayMs: 30_000, chunks: 3 }) },
  };
  const { proc, line } = await spawnAnnouncing([process.execPath, join(import.meta.dir, "loadgen.ts"), JSON.stringify(spec)], MANY_FETCHES, 60_000);
  children.push(proc);
  const { open, failed } = JSON.parse(line) as { open: number; failed: number };
  let rss = 0;
  for (let i = 0; i < 5; i++) {
    rss = Math.max(rss, memoryOf(relay.pid).rss);
    await Bun.sleep(200);
  }
  const inFlight = (await relay.admin.users.get("bench")).inFlight as number;
  proc.kill("SIGTERM");
  await proc.exited;
  let released = false;
  for (let i = 0; i < 100 && !released; i++) {
    const u = await relay.admin.users.get("bench");
    released = u.inFlight === 0 && u.heldCredits === 0;
    if (!released) await Bun.sleep(100);
  }
  await relay.stop();
  return { open, failed, idleRssMb: mb(idle), rssMb: mb(rss), inFlight, releasedAfterClose: released };
}

async function main(): Promise<number> {
  const started = performance.now();
  if (!binaryIsFresh()) {
    console.log("building dist/relay …");
    await buildBinary();
  }
  const loadgenName = WRK ? `wrk (${WRK}), 1 thread; TTFC from test/bench/loadgen.ts` : "test/bench/loadgen.ts (wrk not installed)";
  console.log(`relay bench: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), bun ${Bun.version}, ${DURATION_S} s per run, load: ${loadgenName}`);

  const upstream = await spawnAnnouncing([process.execPath, join(import.meta.dir, "mock-server.ts")]);
  children.push(upstream.proc);
  const { fast, mock } = JSON.parse(upstream.line) as { fast: string; mock: string };
  const pt = await spawnAnnouncing([process.execPath, join(import.meta.dir, "passthrough.ts")], { UPSTREAM: fast, ...MANY_FETCHES });
  children.push(pt.proc);

  const dataDir = tempDir("relay-bench-");
  dirs.push(dataDir);
  const relay = await startRelayProcess({ dataDir, binary: true, env: MANY_FETCHES });
  relays.push(relay);
  const { key } = await setupTenant(relay.admin, {
    user: "bench", model: MODEL, upstreams: [{ name: "bench-upstream", baseUrl: `${fast}/v1` }], credits: 1e12, concurrency: 100_000,
    price: { inputPerMTok: 1, outputPerMTok: 2 },
  });
  // The Messages API's own channel: an anthropic channel on the same upstream, for the same-shape path.
  await relay.admin.channels.create({ name: "bench-anthropic", type: "anthropic", group: "official", baseUrl: fast, apiKey: "sk-upstream", models: [CLAUDE] });
  await relay.admin.prices.set(CLAUDE, { inputPerMTok: 1, outputPerMTok: 2 });

  const urls: Record<Target, string> = { direct: fast, passthrough: pt.line, relay: relay.url };
  for (const t of TARGETS) for (const m of MODES) await check(urls[t], key, m);
  for (const t of TARGETS) for (const m of MODES) await load(urls[t], key, m, 32, WARMUP_S);

  const rows: Row[] = [];
  let peakRss = 0;
  for (const mode of MODES) {
    for (const concurrency of LEVELS_OF[mode]!) {
      for (const target of TARGETS) {
        const server = target === "direct" ? upstream.proc.pid : target === "passthrough" ? pt.proc.pid : relay.pid;
        const cpu0 = cpuSecondsOf(server), up0 = cpuSecondsOf(upstream.proc.pid);
        const r = await load(urls[target], key, mode, concurrency, DURATION_S);
        const cpu = cpuSecondsOf(server) - cpu0, upCpu = cpuSecondsOf(upstream.proc.pid) - up0;
        // wrk cannot see the first chunk: a shorter run of the Bun generator measures it.
        const t = isStream(mode) ? (WRK ? await load(urls[target], key, mode, concurrency, Math.max(1, DURATION_S / 2), true) : r) : null;
        if (target === "relay") peakRss = Math.max(peakRss, memoryOf(relay.pid).peak);
        const row: Row = {
          mode, concurrency, target, loadgen: WRK ? "wrk" : "bun", requests: r.requests, errors: r.errors + (t && t !== r ? t.errors : 0),
          rps: r.rps, p50Ms: r.latency.p50, p99Ms: r.latency.p99, ttfcP50Ms: t?.ttfc?.p50 ?? null, ttfcP99Ms: t?.ttfc?.p99 ?? null,
          cpuUsPerRequest: (cpu * 1e6) / r.requests, upstreamCpuUsPerRequest: (upCpu * 1e6) / r.requests,
        };
        rows.push(row);
        console.log(`  ${mode.padEnd(10)} c=${String(concurrency).padEnd(3)} ${target.padEnd(11)} ${row.rps.toFixed(0).padStart(7)} req/s  p50 ${ms(row.p50Ms)} ms  p99 ${ms(row.p99Ms)} ms  cpu ${row.cpuUsPerRequest.toFixed(0)} µs/req${row.ttfcP50Ms !== null ? `  ttfc p50 ${ms(row.ttfcP50Ms)} ms` : ""}${row.errors ? `  ERRORS ${row.errors} ${JSON.stringify(r.failures)}` : ""}`);
      }
    }
  }

  // The throughput targets compare two runs taken seconds apart on a shared two-core machine, where one
  // run's ratio drifts by ±10% with whatever else the machine does. Alternating short runs of the two
  // (pass-through, then relay, PAIRS times) and taking the median pair ratio halves that spread.
  console.log(`throughput ratio at c=32: ${PAIRS} alternating pairs of ${PAIR_S} s runs (pass-through, relay) per mode …`);
  const paired: Record<Mode, number[]> = { json: [], stream: [], messages: [], translated: [] };
  for (const mode of MODES) {
    for (let i = 0; i < PAIRS; i++) {
      const p = await load(urls.passthrough, key, mode, 32, PAIR_S);
      const r = await load(urls.relay, key, mode, 32, PAIR_S);
      paired[mode].push(r.rps / p.rps);
    }
    console.log(`  ${mode.padEnd(10)} relay/pass-through ${paired[mode].map((x) => x.toFixed(2)).join(", ")}: median ${median(paired[mode]).toFixed(2)}`);
  }

  // Accounting really ran: every request left a usage row and a ledger charge, and nothing is still held.
  let account = await relay.admin.users.get("bench");
  for (let i = 0; i < 50 && (account.inFlight !== 0 || account.heldCredits !== 0); i++) {
    await Bun.sleep(100);
    account = await relay.admin.users.get("bench");
  }
  await relay.stop();
  const db = new Database(join(dataDir, "relay.db"), { readonly: true });
  const usageRows = db.query<{ n: number }, []>("SELECT count(*) AS n FROM usage_log").get()!.n;
  const charges = db.query<{ n: number }, []>("SELECT count(*) AS n FROM ledger WHERE kind = 'charge'").get()!.n;
  db.close();
  const accounting = { usageRows, ledgerCharges: charges, inFlightAfter: account.inFlight as number, heldAfter: account.heldCredits as number };

  console.log("measuring start-up time of dist/relay …");
  const startup = await startupTimes(STARTUP_RUNS);
  console.log(`measuring RSS with ${OPEN_STREAMS} open streams …`);
  const streams = await openStreams(mock);

  const row = (mode: Mode, c: number, t: Target) => rows.find((r) => r.mode === mode && r.concurrency === c && r.target === t)!;
  const derived = MODES.flatMap((mode) => LEVELS_OF[mode]!.map((c) => {
    const d = row(mode, c, "direct"), p = row(mode, c, "passthrough"), r = row(mode, c, "relay");
    return {
      mode, concurrency: c,
      addedP50Ms: r.p50Ms - d.p50Ms, addedP99Ms: r.p99Ms - d.p99Ms, addedP50OverPassthroughMs: r.p50Ms - p.p50Ms,
      relayOverPassthrough: r.rps / p.rps, relayOverDirect: r.rps / d.rps,
      ttfcOverheadMs: r.ttfcP50Ms !== null && d.ttfcP50Ms !== null ? r.ttfcP50Ms - d.ttfcP50Ms : null,
    };
  }));
  const dv = (mode: Mode, c: number) => derived.find((x) => x.mode === mode && x.concurrency === c)!;
  const startupMs = median(startup.freshMs);
  const targets = [
    { name: `throughput at c=32 (json) ≥ 0.5× pass-through, median of ${PAIRS} pairs`, value: median(paired.json), unit: "×", pass: median(paired.json) >= 0.5 },
    { name: `throughput at c=32 (stream) ≥ 0.5× pass-through, median of ${PAIRS} pairs`, value: median(paired.stream), unit: "×", pass: median(paired.stream) >= 0.5 },
    // The Messages API passed through takes the same byte path as a chat stream: its ratio should match.
    {
      name: `Messages streamed to an anthropic channel within the chat stream's ratio (${median(paired.stream).toFixed(2)}) − 0.05, median of ${PAIRS} pairs`,
      value: median(paired.messages), unit: "×", pass: median(paired.messages) >= median(paired.stream) - 0.05,
    },
    { name: "added p50 latency at c=1 (json) ≤ 0.3 ms", value: dv("json", 1).addedP50Ms, unit: "ms", pass: dv("json", 1).addedP50Ms <= 0.3 },
    { name: `RSS with ${OPEN_STREAMS} open streams ≤ 200 MB`, value: streams.rssMb, unit: "MB", pass: streams.rssMb <= 200 && streams.open === OPEN_STREAMS },
    { name: "start-up (fresh data dir, median) < 200 ms", value: startupMs, unit: "ms", pass: startupMs < 200 },
  ];

  // The table.
  console.log("");
  console.log("mode        conc  target        req/s   p50 ms   p99 ms  ttfc p50  cpu µs/req | added p50  added p99  (p50 vs pass)  relay/pass  relay/direct  ttfc overhead");
  for (const mode of MODES) {
    for (const c of LEVELS_OF[mode]!) {
      for (const t of TARGETS) {
        const r = row(mode, c, t);
        let tail = "";
        if (t === "relay") {
          const x = dv(mode, c);
          tail = `| ${ms(x.addedP50Ms, 3).padStart(9)}  ${ms(x.addedP99Ms, 3).padStart(9)}  ${ms(x.addedP50OverPassthroughMs, 3).padStart(13)}  ${x.relayOverPassthrough.toFixed(2).padStart(10)}  ${x.relayOverDirect.toFixed(2).padStart(12)}  ${x.ttfcOverheadMs === null ? "-" : ms(x.ttfcOverheadMs, 3).padStart(13)}`;
        }
        console.log(`${mode.padEnd(11)} ${String(c).padStart(4)}  ${t.padEnd(11)} ${r.rps.toFixed(0).padStart(7)}  ${ms(r.p50Ms, 3).padStart(7)}  ${ms(r.p99Ms, 3).padStart(7)}  ${ms(r.ttfcP50Ms, 3).padStart(8)}  ${r.cpuUsPerRequest.toFixed(0).padStart(10)} ${tail}`);
      }
    }
  }
  console.log("");
  console.log(`relay peak RSS during the load runs (VmHWM): ${mb(peakRss).toFixed(1)} MB`);
  console.log(`accounting: ${usageRows} usage rows, ${charges} ledger charges; after the runs in flight ${accounting.inFlightAfter}, held ${accounting.heldAfter}`);
  console.log(`start-up of dist/relay until /v1/models answers: fresh data dir median ${startupMs.toFixed(1)} ms [${startup.freshMs.map((x) => x.toFixed(0)).join(", ")}], existing data dir median ${median(startup.existingMs).toFixed(1)} ms`);
  console.log(`${OPEN_STREAMS} open streams: ${streams.open} open (${streams.failed} failed), ${streams.inFlight} in flight at the relay, RSS ${streams.rssMb.toFixed(1)} MB (idle ${streams.idleRssMb.toFixed(1)} MB); all released after close: ${streams.releasedAfterClose}`);
  console.log("");
  for (const t of targets) console.log(`${t.pass ? "PASS" : "MISS"}  ${t.name}: ${t.value.toFixed(t.unit === "×" ? 2 : t.unit === "MB" ? 1 : 3)}${t.unit === "×" ? "×" : ` ${t.unit}`}`);

  const result = {
    at: new Date().toISOString(),
    command: `${QUICK ? "BENCH_QUICK=1 " : ""}${process.env.BENCH_DURATION ? `BENCH_DURATION=${process.env.BENCH_DURATION} ` : ""}bun run bench`,
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? null, memoryBytes: totalmem(), bun: Bun.version, platform: process.platform },
    loadgen: loadgenName, durationS: DURATION_S, relay: "dist/relay", rows, derived, pairedRatiosAtC32: paired, relayPeakRssMb: mb(peakRss), accounting,
    startup: { ...startup, medianFreshMs: startupMs, medianExistingMs: median(startup.existingMs) }, openStreams: streams, targets,
    totalSeconds: (performance.now() - started) / 1000,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(result, null, 2) + "\n");
  console.log(`\nwrote ${OUT} (${result.totalSeconds.toFixed(0)} s in all)`);

  const errors = rows.reduce((s, r) => s + r.errors, 0);
  const broken = errors > 0 || accounting.inFlightAfter !== 0 || accounting.heldAfter !== 0 || !streams.releasedAfterClose;
  if (broken) console.error(`bench: something went wrong (${errors} request errors, or slots/holds not released); see above`);
  return broken ? 1 : 0;
}

let code = 1;
try {
  // --cluster: only the cluster-mode comparison (test/bench/cluster.ts), which starts its own relays.
  code = process.argv.includes("--cluster") ? await (await import("./cluster")).clusterBench() : await main();
} catch (e) {
  console.error(`bench failed: ${(e as Error).stack ?? e}`);
  for (const r of relays) console.error(`relay log (${r.logPath}):\n${r.logTail()}`);
} finally {
  await cleanup();
}
process.exit(code);
