import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import { startMockAnthropic, type MockAnthropic } from "../support/mock-anthropic";
import { eventually, post, relayWithMocks } from "../support/relay-fixture";
import { ledgerViolations } from "../support/limits-helpers";
import { promptBound } from "../../server/relay/tokens";

/** Cache reads, cache writes and per-request prices: charged at their own rates, and inside every hold. */
const root = join(import.meta.dir, "..", "..");
let f: Awaited<ReturnType<typeof relayWithMocks>>;
let claude: MockAnthropic;
beforeAll(async () => {
  f = await relayWithMocks(1);
  claude = await startMockAnthropic("claude");
  await f.h.admin.channels.create({ name: "an", type: "anthropic", group: "official", baseUrl: claude.url, apiKey: "k", models: ["claude-c"] });
  await f.channel(f.mocks[0]!, { models: ["gpt-c", "image-model"] });
});
afterAll(async () => {
  await f.close();
  await claude.stop();
});

async function cli(...args: string[]) {
  const p = Bun.spawn(["bun", join(root, "server/main.ts"), "admin", ...args], { env: { ...process.env, RELAY_ADMIN_SOCKET: f.h.socketPath }, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = [await p.exited, await new Response(p.stdout).text(), await new Response(p.stderr).text()];
  if (code !== 0) throw new Error(err);
  return out;
}

async function lastRow() {
  await eventually(async () => (await f.h.admin.usage({ limit: 1 })).data.length > 0, "usage row");
  return (await f.h.admin.usage({ limit: 1 })).data[0]!;
}

describe("prices for cached input, cache writes and per request", () => {
  test("relay admin price set takes --cached-input, --cache-write and --per-request", async () => {
    // credits per million: input 1,000,000 (1 per token), cache reads 0.1 per token, cache writes 1.25, output 2.
    expect(await cli("price", "set", "claude-c", "--input", "1000000", "--output", "2000000", "--cached-input", "100000", "--cache-write", "1250000"))
      .toContain("claude-c: 1000000 in / 2000000 out per million tokens, 100000 cached input, 1250000 cache write");
    await cli("price", "set", "gpt-c", "--input", "1000000", "--output", "2000000", "--cached-input", "500000");
    await cli("price", "set", "image-model", "--input", "0", "--output", "0", "--per-request", "40");
    const list = await cli("price", "list");
    expect(list).toMatch(/image-model\s+0\s+0\s+-\s+-\s+40/);
    expect(JSON.parse(await cli("price", "list", "--json")).find((p: any) => p.model === "claude-c")).toMatchObject({ cachedInputPerMTok: 100000, cacheWritePerMTok: 1250000, perRequest: 0 });
  });

  test("Anthropic cache reads and writes are charged at their rates", async () => {
    const { key } = await f.userWithKey("cache-a", { credits: 100_000 });
    const a = new Anthropic({ baseURL: f.h.url, apiKey: key, maxRetries: 0 });
    // The mock reports far more prompt tokens than "hi": max_tokens 1000 makes the hold cover them, so only the
    // rates are measured here (past a hold, PostgreSQL modes charge the hold only; see test/limits/choices.test.ts).
    await a.messages.create({ model: "claude-c", max_tokens: 1000, messages: [{ role: "user", content: "hi" }] },
      { headers: { "x-mock-behavior": JSON.stringify({ promptTokens: 10, cacheReadTokens: 1000, cacheWriteTokens: 200, completionTokens: 50 }) } });
    const row = await lastRow();
    expect(row).toMatchObject({ promptTokens: 1210, cachedTokens: 1000, cacheWriteTokens: 200, completionTokens: 50 });
    // 10×1 + 1000×0.1 + 200×1.25 + 50×2 = 10 + 100 + 250 + 100
    expect(row.cost).toBe(460);
  });

  test("OpenAI cached tokens are charged at the cached rate; unset, cache writes cost the input rate", async () => {
    const { key } = await f.userWithKey("cache-o", { credits: 100_000 });
    await post(f.h, key, "/v1/chat/completions", { model: "gpt-c", messages: [{ role: "user", content: "hi" }], max_tokens: 10 },
      { "x-mock-behavior": JSON.stringify({ promptTokens: 120, cachedTokens: 100, completionTokens: 10 }) }).then((r) => r.text());
    const row = await lastRow();
    expect(row).toMatchObject({ promptTokens: 120, cachedTokens: 100, completionTokens: 10 });
    expect(row.cost).toBe(20 + 50 + 20); // 20 uncached × 1, 100 cached × 0.5, 10 out × 2
  });

  test("the hold prices every prompt token at the dearest input rate", async () => {
    // A balance that pays for the prompt bound at the input rate (1 per token) but not at the cache-write
    // rate (1.25): the whole prompt might be written to the cache, so relay refuses before calling upstream.
    const body = { model: "claude-c", max_tokens: 1, messages: [{ role: "user", content: "lorem ipsum dolor ".repeat(30) }] };
    const bound = promptBound(body, Buffer.byteLength(JSON.stringify(body)));
    const credits = bound + 2 + Math.floor(bound * 0.1); // input rate: fits; cache-write rate: does not
    expect(Math.ceil(bound * 1.25) + 2).toBeGreaterThan(credits);
    const { key } = await f.userWithKey("cache-hold", { credits });
    const before = claude.requests.length;
    const res = await fetch(`${f.h.url}/v1/messages`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(res.status).toBe(402);
    expect(claude.requests.length).toBe(before);
  });

  test("a per-request price is charged once per successful call, never for a failed one", async () => {
    const { key } = await f.userWithKey("images", { credits: 100 });
    const ok = await post(f.h, key, "/v1/images/generations", { model: "image-model", prompt: "a cat" });
    expect(ok.status).toBe(200);
    expect((await lastRow()).cost).toBe(40);
    const failed = await post(f.h, key, "/v1/images/generations", { model: "image-model", prompt: "a cat" }, { "x-mock-behavior": JSON.stringify({ behavior: "status", status: 400 }) });
    expect(failed.status).toBe(400);
    expect((await lastRow())).toMatchObject({ status: 400, cost: 0 });
    expect((await f.h.admin.users.get("images")).balance).toBe(60);
    // 60 credits leave room for one more call; after it, 20 do not cover a call's 40.
    expect((await post(f.h, key, "/v1/images/generations", { model: "image-model", prompt: "a dog" })).status).toBe(200);
    expect((await post(f.h, key, "/v1/images/generations", { model: "image-model", prompt: "a bird" })).status).toBe(402);
  });

  test("the books balance", async () => {
    expect(await ledgerViolations(f.h)).toEqual([]);
  });
});
