/**
 * `bun test/bench/ab.ts OTHER_BINARY`: this checkout's dist/relay (B) against another build (A) on the same
 * upstream, in alternating runs, so a change's cost shows as a ratio without the machine's drift in it.
 * Prints B/A throughput per mode (median of pairs). BENCH_PAIRS (default 7), BENCH_PAIR_S (default 3).
 */
import { join } from "node:path";
import { BINARY, setupTenant, spawnAnnouncing, startRelayProcess, tempDir, removeDir } from "./processes";

const other = process.argv[2];
if (!other) throw new Error("usage: bun test/bench/ab.ts OTHER_BINARY");
const PAIRS = Number(process.env.BENCH_PAIRS ?? 7);
const PAIR_S = Number(process.env.BENCH_PAIR_S ?? 3);
const WRK = Bun.which("wrk");
if (!WRK) throw new Error("needs wrk (apt-get install wrk)");
const MANY = { BUN_CONFIG_MAX_HTTP_REQUESTS: "4096" };
const hello = [{ role: "user", content: "Say hello to the benchmark." }];
const modes = {
  json: { path: "/v1/chat/completions", body: JSON.stringify({ model: "gpt-bench", messages: hello }) },
  stream: { path: "/v1/chat/completions", body: JSON.stringify({ model: "gpt-bench", messages: hello, stream: true }) },
};

async function wrk(url: string, key: string, body: string): Promise<number> {
  const p = Bun.spawn([WRK!, "-t1", "-c32", `-d${PAIR_S}s`, "-s", join(import.meta.dir, "wrk.lua"), url], { stdout: "pipe", env: { ...process.env, BENCH_BODY: body, BENCH_AUTH: key } });
  const out = await new Response(p.stdout).text();
  const r = JSON.parse(/BENCH_JSON (\{.*\})/.exec(out)![1]!);
  return r.requests / (r.duration_us / 1e6);
}

const up = await spawnAnnouncing([process.execPath, join(import.meta.dir, "mock-server.ts")]);
const { fast } = JSON.parse(up.line) as { fast: string };
const dirs: string[] = [];
const relays = [];
for (const binary of [other, BINARY]) {
  const dir = tempDir("relay-ab-");
  dirs.push(dir);
  const r = await startRelayProcess({ dataDir: dir, binaryPath: binary, env: MANY });
  const { key } = await setupTenant(r.admin, { user: "bench", model: "gpt-bench", upstreams: [{ name: "up", baseUrl: `${fast}/v1` }], credits: 1e12, concurrency: 100_000, price: { inputPerMTok: 1, outputPerMTok: 2 } });
  relays.push({ r, key });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  for (const [name, m] of Object.entries(modes)) {
    for (const { r, key } of relays) await wrk(r.url + m.path, key, m.body); // warm up
    const ratios: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const a = await wrk(relays[0]!.r.url + m.path, relays[0]!.key, m.body);
      const b = await wrk(relays[1]!.r.url + m.path, relays[1]!.key, m.body);
      ratios.push(b / a);
      console.log(`  ${name} pair ${i + 1}: A ${a.toFixed(0)} req/s, B ${b.toFixed(0)} req/s, B/A ${(b / a).toFixed(3)}`);
    }
    console.log(`${name}: B/A median ${median(ratios).toFixed(3)} [${ratios.map((x) => x.toFixed(2)).join(", ")}]`);
  }
} finally {
  for (const { r } of relays) await r.stop();
  up.proc.kill();
  for (const d of dirs) removeDir(d);
}
