/**
 * Three relay processes in cluster mode (one PostgreSQL, one Redis) behind a TCP round-robin balancer,
 * with requests sent both through the balancer and straight to each instance. Checked across instances:
 * money is exact (a balance that pays N requests pays exactly N), a concurrency cap and a rate limit
 * hold for the cluster as a whole, every admin write reaches every instance within a second, every
 * admin socket works, and health shows the whole cluster.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startBalancer, type Balancer } from "../support/balancer";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream";
import { readStream } from "../drills/support";
import { ROOT } from "../bench/processes";
import {
  chat, errorCode, invariants, setupTenants, startCluster, unanswered, waitIdle, waitServed, type Cluster,
} from "./support";

const T = 120_000;
let cluster: Cluster;
let balancer: Balancer;
let mock: MockUpstream;
let slow: MockUpstream;
/** Request i's entry point: the balancer, then instance 1, 2, 3, in turn. */
const entry = (i: number) => (i % 4 === 0 ? balancer.url : cluster.instances[(i % 4) - 1]!.url);
const inst = (n: number) => cluster.instances[n - 1]!;
const urls = () => cluster.instances.map((i) => i.url);

beforeAll(async () => {
  mock = await startMockUpstream("cluster-up");
  // Streams of five chunks 100 ms apart: long enough that requests overlap on every instance.
  slow = await startMockUpstream("cluster-slow", { behavior: "drip", delayMs: 100, chunks: 5 });
  cluster = await startCluster({ label: "cluster-test" });
  balancer = startBalancer(cluster.instances.map((i) => i.port));
}, T);

afterAll(async () => {
  balancer?.stop();
  await cluster?.stop();
  await mock?.stop();
  await slow?.stop();
}, T);

/** Polls `probe` on each instance until it says yes; returns the milliseconds each took. */
async function propagation(instances: number[], probe: (base: string) => Promise<boolean>, timeoutMs = 5000): Promise<number[]> {
  const t0 = performance.now();
  return Promise.all(instances.map(async (n) => {
    for (;;) {
      if (await probe(inst(n).url)) return performance.now() - t0;
      if (performance.now() - t0 > timeoutMs) return Infinity;
      await Bun.sleep(5);
    }
  }));
}

describe("cluster of 3 behind a balancer", () => {
  test("bank: a balance that pays N requests pays exactly N across instances", async () => {
    const N = 20;
    const keys = await setupTenants(inst(1).admin, {
      baseUrl: `${mock.url}/v1`, model: "gpt-bank", price: { inputPerMTok: 0, outputPerMTok: 0, perRequest: 1 },
      users: [{ name: "bank", credits: N }],
    }, urls());
    const accepted0 = [...balancer.accepted.values()].reduce((a, b) => a + b, 0);
    const results = await Promise.all(Array.from({ length: 10 * N }, async (_, i) => {
      const res = await chat(entry(i), keys.bank!.key, "gpt-bank");
      const id = res.headers.get("x-request-id");
      if (res.status === 200) return { status: 200, code: "", id, whole: (await res.text()).includes('"chat.completion"') };
      return { status: res.status, code: await errorCode(res), id, whole: false };
    }));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    console.log(`bank: ${ok.length} of ${results.length} succeeded, refusals ${JSON.stringify(Object.groupBy(refused, (r) => `${r.status} ${r.code}`), (k, v) => (Array.isArray(v) ? v.length : v))}; balancer connections ${[...balancer.accepted.values()].reduce((a, b) => a + b, 0) - accepted0}`);
    expect(ok.length).toBe(N);
    expect(ok.every((r) => r.whole)).toBe(true);
    expect(refused.every((r) => r.status === 402 && r.code === "quota_exceeded")).toBe(true);

    const idle = await waitIdle(cluster.sql);
    expect(idle).toEqual({ ok: true, state: expect.any(String) });
    const shown = await inst(2).admin.users.get("bank");
    expect(shown.credits).toBe(0);
    expect(shown.heldCredits).toBe(0);
    expect(await unanswered(cluster.sql, ok.map((r) => r.id!))).toEqual([]);
    const failed = (await invariants(cluster.sql)).filter((i) => !i.ok);
    expect(failed).toEqual([]);
  }, T);

  test("a concurrency cap holds across instances (the upstream never sees more)", async () => {
    const C = 3;
    const keys = await setupTenants(inst(1).admin, {
      baseUrl: `${slow.url}/v1`, model: "gpt-slow", price: { inputPerMTok: 1, outputPerMTok: 1 },
      users: [{ name: "capped", credits: 1_000_000, concurrency: C }],
    }, urls());
    slow.reset();
    slow.set({ behavior: "drip", delayMs: 100, chunks: 5 });
    const results = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      await Bun.sleep((i % 10) * 100); // waves, so later requests find slots freed by earlier ones
      const res = await chat(entry(i), keys.capped!.key, "gpt-slow", { stream: true });
      if (res.status === 200) return { status: 200, code: "", end: await readStream(res, null) };
      return { status: res.status, code: await errorCode(res), end: "" };
    }));
    const ok = results.filter((r) => r.status === 200);
    const capped = results.filter((r) => r.status === 429 && r.code === "concurrency_limit_exceeded");
    console.log(`concurrency: cap ${C}, upstream peak in flight ${slow.maxInFlight}, ${ok.length} streamed, ${capped.length} refused with 429 concurrency_limit_exceeded`);
    expect(slow.maxInFlight).toBeLessThanOrEqual(C);
    expect(slow.maxInFlight).toBeGreaterThan(0);
    expect(capped.length).toBeGreaterThan(0);
    expect(ok.length + capped.length).toBe(results.length);
    expect(ok.every((r) => r.end === "done")).toBe(true);
    expect((await waitIdle(cluster.sql)).ok).toBe(true);
  }, T);

  test("every write reaches every instance within 1 s (key, channel, price, user, credits)", async () => {
    const keys = await setupTenants(inst(1).admin, {
      baseUrl: `${mock.url}/v1`, model: "gpt-prop", price: { inputPerMTok: 0, outputPerMTok: 0, perRequest: 1 },
      users: [{ name: "prop", credits: 1_000_000 }, { name: "prop2", credits: 1_000_000 }, { name: "prop3", credits: 1_000_000 }, { name: "broke", credits: 0 }],
    }, urls());
    const model = (key: string, id: string) => (base: string) => fetch(`${base}/v1/models/${id}`, { headers: { authorization: `Bearer ${key}` } });
    // Instances 2 and 3 have the key cached, and serve the model.
    for (const n of [2, 3]) expect((await model(keys.prop!.key, "gpt-prop")(inst(n).url)).status).toBe(200);

    // A key disabled on instance 1 is refused by 2 and 3.
    await inst(1).admin.keys.update(keys.prop!.id, { enabled: false });
    const revoked = await propagation([2, 3], async (b) => (await model(keys.prop!.key, "gpt-prop")(b)).status === 401);
    console.log(`propagation: key disabled on instance 1 -> 401 on instance 2 after ${revoked[0]!.toFixed(0)} ms, instance 3 after ${revoked[1]!.toFixed(0)} ms`);

    // A channel created on instance 1 serves on 2 and 3; disabled, it stops.
    const key2 = keys.prop2!.key;
    for (const n of [2, 3]) expect((await model(key2, "gpt-prop-new")(inst(n).url)).status).toBe(404);
    const ch = await inst(1).admin.channels.create({ name: "prop-new", group: "official", baseUrl: `${mock.url}/v1`, apiKey: "sk-upstream", models: ["gpt-prop-new"] });
    const appeared = await propagation([2, 3], async (b) => (await model(key2, "gpt-prop-new")(b)).status === 200);
    console.log(`propagation: channel created on instance 1 -> served by instance 2 after ${appeared[0]!.toFixed(0)} ms, instance 3 after ${appeared[1]!.toFixed(0)} ms`);
    expect((await chat(inst(3).url, key2, "gpt-prop-new")).status).toBe(200);
    await inst(1).admin.channels.update(ch.id, { enabled: false });
    const gone = await propagation([2, 3], async (b) => {
      const res = await model(key2, "gpt-prop-new")(b);
      return res.status === 404 && (await errorCode(res)) === "model_not_found";
    });
    console.log(`propagation: channel disabled on instance 1 -> model_not_found on instance 2 after ${gone[0]!.toFixed(0)} ms, instance 3 after ${gone[1]!.toFixed(0)} ms`);

    // A price raised on instance 1 past the balance: 2 and 3 refuse with 402.
    for (const n of [2, 3]) expect((await chat(inst(n).url, key2, "gpt-prop")).status).toBe(200);
    await inst(1).admin.prices.set("gpt-prop", { inputPerMTok: 0, outputPerMTok: 0, perRequest: 1_000_000_000 });
    const priced = await propagation([2, 3], async (b) => {
      const res = await chat(b, key2, "gpt-prop");
      return res.status === 402 && (await errorCode(res)) === "quota_exceeded";
    });
    console.log(`propagation: price raised on instance 1 -> 402 on instance 2 after ${priced[0]!.toFixed(0)} ms, instance 3 after ${priced[1]!.toFixed(0)} ms`);

    // A user disabled on instance 1: their key stops on 2 and 3.
    for (const n of [2, 3]) expect((await model(keys.prop3!.key, "gpt-prop")(inst(n).url)).status).toBe(200);
    await inst(1).admin.users.update("prop3", { enabled: false });
    const disabled = await propagation([2, 3], async (b) => (await model(keys.prop3!.key, "gpt-prop")(b)).status !== 200);
    const disabledStatus = (await model(keys.prop3!.key, "gpt-prop")(inst(2).url)).status;
    console.log(`propagation: user disabled on instance 1 -> ${disabledStatus} on instance 2 after ${disabled[0]!.toFixed(0)} ms, instance 3 after ${disabled[1]!.toFixed(0)} ms`);
    expect([401, 403]).toContain(disabledStatus);

    // Credits granted on instance 1 to an empty account: 2 and 3 serve it (at the price raised above).
    for (const n of [2, 3]) expect((await chat(inst(n).url, keys.broke!.key, "gpt-prop")).status).toBe(402);
    await inst(1).admin.credits.grant("broke", { amount: 2_000_000_000 });
    const granted = await propagation([2, 3], async (b) => (await chat(b, keys.broke!.key, "gpt-prop")).status === 200);
    console.log(`propagation: credits granted on instance 1 -> served by instance 2 after ${granted[0]!.toFixed(0)} ms, instance 3 after ${granted[1]!.toFixed(0)} ms`);

    for (const ms of [...revoked, ...appeared, ...gone, ...priced, ...disabled, ...granted]) expect(ms).toBeLessThan(1000);
    expect((await waitIdle(cluster.sql)).ok).toBe(true);
  }, T);

  test("each instance's admin socket writes what the others read", async () => {
    await inst(1).admin.prices.set("gpt-sock", { inputPerMTok: 1, outputPerMTok: 1 });
    await inst(1).admin.channels.create({ name: "sock", group: "official", baseUrl: `${mock.url}/v1`, apiKey: "sk-upstream", models: ["gpt-sock"] });
    await waitServed(urls(), "gpt-sock");
    for (const [writer, reader] of [[3, 1], [1, 2], [2, 3]] as const) {
      const name = `sock-${writer}`;
      await inst(writer).admin.users.create({ name, credits: 0 });
      await inst(writer).admin.credits.grant(name, { amount: 5000 });
      const seen = await inst(reader).admin.users.get(name);
      expect(seen.credits).toBe(5000);
      // A key created through one socket works at once on another instance (an uncached key is read from PostgreSQL).
      const k = await inst(writer).admin.keys.create({ user: name, label: "sock" });
      const res = await chat(inst(reader).url, k.key as string, "gpt-sock");
      expect(res.status).toBe(200);
      await res.text();
    }
    expect((await waitIdle(cluster.sql)).ok).toBe(true);
  }, T);

  test("health shows 3 alive instances in cluster mode; channel list says whose view it is", async () => {
    const cli = async (n: number, ...args: string[]) => {
      const p = Bun.spawn([process.execPath, join(ROOT, "server/main.ts"), "admin", ...args], {
        cwd: ROOT, env: { ...process.env, RELAY_DATA_DIR: inst(n).dataDir }, stdout: "pipe", stderr: "pipe",
      });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      expect({ code, err }).toEqual({ code: 0, err: "" });
      return out;
    };
    const health = JSON.parse(await cli(2, "health", "--json"));
    expect(health.mode).toBe("cluster");
    expect(health.postgres).toBe("reachable");
    expect(health.redis).toBe("reachable");
    const alive = (health.instances as { state: string; self: boolean }[]).filter((i) => i.state === "alive");
    expect(alive.length).toBe(3);
    expect(alive.filter((i) => i.self).length).toBe(1);
    const list = await cli(2, "channel", "list");
    expect(list.split("\n")[0]).toStartWith(`health as seen by instance ${String(health.instance).slice(0, 8)}`);
  }, T);

  test("a key's rpm is exact across instances", async () => {
    const R = 5;
    const keys = await setupTenants(inst(1).admin, {
      baseUrl: `${mock.url}/v1`, model: "gpt-rate", price: { inputPerMTok: 1, outputPerMTok: 1 },
      users: [{ name: "rated", credits: 1_000_000, keyRpm: R }],
    }, urls());
    const results = await Promise.all(Array.from({ length: 3 * R }, async (_, i) => {
      const res = await chat(entry(i), keys.rated!.key, "gpt-rate");
      return { status: res.status, code: res.status === 200 ? (await res.text(), "") : await errorCode(res) };
    }));
    const ok = results.filter((r) => r.status === 200).length;
    console.log(`rate limit: rpm ${R}, ${3 * R} requests across instances -> ${ok} succeeded`);
    expect(ok).toBe(R);
    expect(results.filter((r) => r.status !== 200).every((r) => r.status === 429 && r.code === "rate_limit_exceeded")).toBe(true);
    expect((await waitIdle(cluster.sql)).ok).toBe(true);
  }, T);
});
