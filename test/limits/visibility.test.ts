import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { userWithKey } from "../support/harness";
import { MODEL, chatBody, sendChat, settled, startLimitsRig, until, type LimitsRig } from "../support/limits-helpers";

const root = join(import.meta.dir, "..", "..");

/** Runs the real `relay admin …` CLI against the rig's admin socket. */
async function cli(rig: LimitsRig, ...args: string[]) {
  const proc = Bun.spawn(["bun", join(root, "server/main.ts"), "admin", ...args], {
    env: { ...process.env, RELAY_ADMIN_SOCKET: rig.h.socketPath, RELAY_LOG_LEVEL: "silent" },
    stdout: "pipe", stderr: "pipe",
  });
  const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(code).toBe(0);
  return stdout;
}

/** Parses Prometheus text into `name{labels}` → value, checking every line is well-formed. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (-?[0-9.e+-]+|\+Inf)$/.exec(line);
    expect(m, `malformed metrics line: ${line}`).not.toBeNull();
    out.set(m![1]!, Number(m![2]));
  }
  return out;
}

describe("visibility", () => {
  test("/metrics and `relay admin user list --json` show requests, in-flight, latency, charges, balances and tokens", async () => {
    const rig = await startLimitsRig();
    try {
      const ch = rig.channelId;
      const { key } = await userWithKey(rig.h, "vis", { credits: 10_000, concurrency: 2 });
      expect((await sendChat(rig.h.url, key, chatBody({ max_tokens: 5 }))).status).toBe(200);
      // Headers after at least 60 ms: a lower bound the histogram must reflect.
      expect((await sendChat(rig.h.url, key, chatBody({ max_tokens: 5 }), { mock: { behavior: "slow", delayMs: 60 } })).status).toBe(200);
      expect(await (await sendChat(rig.h.url, key, chatBody({ max_tokens: 5, stream: true }))).text()).toContain("[DONE]");
      expect((await sendChat(rig.h.url, key, chatBody({ max_tokens: 5 }), { mock: { behavior: "status", status: 500 } })).status).toBe(500);
      expect((await sendChat(rig.h.url, key, chatBody({ max_tokens: 100_000 }))).status).toBe(402);

      // Two requests hang upstream: the user is at the cap, and a third is refused.
      const ctrl = new AbortController();
      const hanging = [1, 2].map(() => sendChat(rig.h.url, key, chatBody({ max_tokens: 50 }), { mock: { behavior: "hang" }, signal: ctrl.signal }).catch(() => null));
      await until(() => rig.mock.inFlight === 2, "two requests hanging upstream");
      expect((await sendChat(rig.h.url, key, chatBody({ max_tokens: 5 }))).status).toBe(429);

      let m = parseMetrics(await rig.h.admin.metrics());
      expect(m.get(`relay_in_flight{account="vis",kind="user"}`)).toBe(2);
      const listed = JSON.parse(await cli(rig, "user", "list", "--json")) as Record<string, unknown>[];
      expect(listed.find((u) => u.name === "vis")).toMatchObject({ balance: 10_000 - 15, heldCredits: 100, inFlight: 2, tokensThisMonth: 45 });
      const human = await cli(rig, "user", "list");
      for (const col of ["BALANCE", "HELDCREDITS", "INFLIGHT", "TOKENSTHISMONTH"]) expect(human).toContain(col);

      ctrl.abort();
      await Promise.all(hanging);
      await settled(rig.h.admin, "vis");
      m = parseMetrics(await rig.h.admin.metrics());
      expect(m.get(`relay_in_flight{account="vis",kind="user"}`)).toBe(0);
      expect(m.get(`relay_requests_total{status="200",model="${MODEL}",channel="${ch}"}`)).toBe(3);
      expect(m.get(`relay_requests_total{status="500",model="${MODEL}",channel="${ch}"}`)).toBe(1);
      expect(m.get(`relay_requests_total{status="499",model="${MODEL}",channel="${ch}"}`)).toBe(2);
      // Requests the limits refused are requests too, with no channel.
      expect(m.get(`relay_requests_total{status="402",model="${MODEL}",channel=""}`)).toBe(1);
      expect(m.get(`relay_requests_total{status="429",model="${MODEL}",channel=""}`)).toBe(1);
      expect(m.get(`relay_credits_charged_total{model="${MODEL}"}`)).toBe(15);

      const buckets = [...m].filter(([k]) => k.startsWith(`relay_upstream_latency_seconds_bucket{channel="${ch}",`)).map(([, v]) => v);
      const count = m.get(`relay_upstream_latency_seconds_count{channel="${ch}"}`)!;
      expect(count).toBeGreaterThanOrEqual(3);
      expect(buckets.at(-1)).toBe(count); // le="+Inf"
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]!).toBeGreaterThanOrEqual(buckets[i - 1]!);
      expect(m.get(`relay_upstream_latency_seconds_sum{channel="${ch}"}`)).toBeGreaterThanOrEqual(0.05);
      expect(m.get(`relay_upstream_latency_seconds_bucket{channel="${ch}",le="0.025"}`)).toBeLessThan(count);

      const after = JSON.parse(await cli(rig, "user", "list", "--json")) as Record<string, unknown>[];
      expect(after.find((u) => u.name === "vis")).toMatchObject({ balance: 10_000 - 15, heldCredits: 0, inFlight: 0, tokensThisMonth: 45 });
    } finally {
      await rig.close();
    }
  }, 30_000);
});
