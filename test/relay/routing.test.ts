import { afterEach, describe, expect, test } from "bun:test";
import { chat, post, relayWithMocks } from "../support/relay-fixture";

let f: Awaited<ReturnType<typeof relayWithMocks>> | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

/** Which mock answered: its name is in the content ("Hello from upN"); the relay does not forward upstream headers. */
const answeredBy = async (res: Response) => (((await res.json()) as any).choices?.[0]?.message?.content ?? "").replace("Hello from ", "");

describe("routing", () => {
  test("group binding: a special key never reaches an official channel, an either key reaches both", async () => {
    f = await relayWithMocks(2);
    const [official, special] = f.mocks as [any, any];
    await f.channel(official, { group: "official", priority: 10 });
    await f.channel(special, { group: "special", priority: 0 });
    const sp = (await f.userWithKey("sp", {}, { group: "special" })).key;
    for (let i = 0; i < 20; i++) expect((await post(f.h, sp, "/v1/chat/completions", chat("gpt-test"))).status).toBe(200);
    expect(official.requests.length).toBe(0);
    expect(special.requests.length).toBe(20);
    const off = (await f.userWithKey("off", {}, { group: "official" })).key;
    await post(f.h, off, "/v1/chat/completions", chat("gpt-test"));
    expect(official.requests.length).toBe(1);
    // a special key gets no official-only model
    await f.channel(official, { group: "official", models: ["official-only"] });
    const res = await post(f.h, sp, "/v1/chat/completions", chat("official-only"));
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe("model_not_found");
  });

  test("higher priority first; weighted random within a tier", async () => {
    f = await relayWithMocks(3);
    const [a, b, low] = f.mocks as [any, any, any];
    await f.channel(a, { priority: 5, weight: 1 });
    await f.channel(b, { priority: 5, weight: 3 });
    await f.channel(low, { priority: 1, weight: 100 });
    const { key } = await f.userWithKey("w", { concurrency: 50 });
    const n = 800;
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i += 40) {
      const batch = await Promise.all(Array.from({ length: 40 }, () => post(f!.h, key, "/v1/chat/completions", chat("gpt-test"))));
      for (const r of batch) {
        const who = await answeredBy(r);
        counts[who] = (counts[who] ?? 0) + 1;
      }
    }
    expect(counts.up3 ?? 0).toBe(0);
    // Expected 200 / 600; the bound is over 8 standard deviations (sd ≈ 12), so this fails only if weights are ignored.
    expect(Math.abs((counts.up1 ?? 0) - n / 4)).toBeLessThan(100);
    expect(Math.abs((counts.up2 ?? 0) - (3 * n) / 4)).toBeLessThan(100);
  });

  test("disabled channels are not used", async () => {
    f = await relayWithMocks(2);
    const c1 = await f.channel(f.mocks[0]!, { priority: 10 });
    await f.channel(f.mocks[1]!, { priority: 0 });
    await f.h.admin.channels.update(c1.id, { enabled: false });
    const { key } = await f.userWithKey("dis");
    expect(await answeredBy(await post(f.h, key, "/v1/chat/completions", chat("gpt-test")))).toBe("up2");
  });
});

describe("failover", () => {
  async function twoTiers() {
    f = await relayWithMocks(2, { RELAY_FIRST_BYTE_TIMEOUT_MS: "300" });
    const [primary, backup] = f.mocks as [any, any];
    await f.channel(primary, { priority: 10 });
    await f.channel(backup, { priority: 0 });
    return { primary, backup, key: (await f.userWithKey("fo")).key };
  }

  for (const [name, opts] of [
    ["500", { behavior: "status", status: 500 }],
    ["503", { behavior: "status", status: 503 }],
    ["429", { behavior: "status", status: 429, retryAfter: 1 }],
    ["timeout before the first byte", { behavior: "hang" }],
    ["connection reset before a response", { behavior: "disconnect" }],
  ] as const) {
    test(`on ${name} the next channel answers`, async () => {
      const { primary, backup, key } = await twoTiers();
      primary.set(opts);
      const res = await post(f!.h, key, "/v1/chat/completions", chat("gpt-test"));
      expect(res.status).toBe(200);
      expect(await answeredBy(res)).toBe("up2");
      expect(primary.requests.length).toBe(1);
      expect(backup.requests.length).toBe(1);
    });
  }

  test("on connection refused the next channel answers", async () => {
    f = await relayWithMocks(1);
    await f.h.admin.channels.create({ name: "dead", baseUrl: "http://127.0.0.1:1/v1", apiKey: "x", models: ["gpt-test"], priority: 10 });
    await f.channel(f.mocks[0]!, { priority: 0 });
    const { key } = await f.userWithKey("refused");
    const res = await post(f.h, key, "/v1/chat/completions", chat("gpt-test"));
    expect(res.status).toBe(200);
  });

  test("a non-retryable 4xx reaches the client as it was, without failover", async () => {
    const { primary, backup, key } = await twoTiers();
    primary.set({ behavior: "status", status: 400 });
    const res = await post(f!.h, key, "/v1/chat/completions", chat("gpt-test"));
    expect(res.status).toBe(400);
    const body = (await res.json()) as any;
    expect(body.error).toHaveProperty("message");
    expect(backup.requests.length).toBe(0);
  });

  test("when every channel fails the client gets the last upstream error; attempts are capped", async () => {
    f = await relayWithMocks(3, { RELAY_MAX_ATTEMPTS: "2" });
    for (const m of f.mocks) {
      m.set({ behavior: "status", status: 502 });
      await f.channel(m);
    }
    const { key } = await f.userWithKey("allfail");
    const res = await post(f.h, key, "/v1/chat/completions", chat("gpt-test"));
    expect(res.status).toBe(502);
    expect(f.mocks.reduce((s, m) => s + m.requests.length, 0)).toBe(2);
  });

  test("consecutive failures open the breaker, shown in the channel list; then a half-open probe", async () => {
    f = await relayWithMocks(2, { RELAY_BREAKER_THRESHOLD: "2", RELAY_BREAKER_COOLDOWN_MS: "300" });
    const [bad, good] = f.mocks as [any, any];
    const c = await f.channel(bad, { priority: 10 });
    await f.channel(good, { priority: 0 });
    bad.set({ behavior: "status", status: 500 });
    const { key } = await f.userWithKey("breaker");
    for (let i = 0; i < 2; i++) await post(f.h, key, "/v1/chat/completions", chat("gpt-test"));
    const listed = (await f.h.admin.channels.list()).data.find((x: any) => x.id === c.id)!;
    expect(listed.health.state).toBe("open");
    expect(listed.health.lastError).toContain("500");
    const before = bad.requests.length;
    await post(f.h, key, "/v1/chat/completions", chat("gpt-test"));
    expect(bad.requests.length).toBe(before); // cooling down: skipped
    await Bun.sleep(350);
    bad.set({ behavior: "normal" });
    const res = await post(f.h, key, "/v1/chat/completions", chat("gpt-test"));
    expect(await answeredBy(res)).toBe("up1"); // the half-open probe succeeded
    expect((await f.h.admin.channels.get(c.id)).health.state).toBe("closed");
  });
});
