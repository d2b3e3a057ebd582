import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { startMockAnthropic, type MockAnthropic } from "../support/mock-anthropic";
import { eventually, relayWithMocks } from "../support/relay-fixture";
import { ledgerViolations } from "../support/limits-helpers";

/**
 * The Anthropic Messages API on relay, driven by the official @anthropic-ai/sdk, passed through to an
 * `anthropic` channel (a real mock of api.anthropic.com): bodies untouched but for the model id, usage
 * from message_start/message_delta, everything relay enforces, and errors in Anthropic's envelope.
 */
const MODEL = "claude-sonnet-5-5";
let f: Awaited<ReturnType<typeof relayWithMocks>>;
let upstream: MockAnthropic;
let key: string;
let client: Anthropic;
beforeAll(async () => {
  f = await relayWithMocks(0);
  upstream = await startMockAnthropic("claude", { requireXApiKey: true });
  await f.h.admin.channels.create({ name: "anthropic", type: "anthropic", group: "official", baseUrl: upstream.url, apiKey: "sk-ant-upstream", models: [MODEL], modelMap: { "claude-alias": MODEL } });
  await f.h.admin.prices.set(MODEL, { inputPerMTok: 1_000_000, outputPerMTok: 1_000_000 }); // a credit per token
  ({ key } = await f.userWithKey("claude-user", { credits: 1_000_000 }));
  client = new Anthropic({ baseURL: f.h.url, apiKey: key, maxRetries: 0 });
});
afterAll(async () => {
  await f.close();
  await upstream.stop();
});

async function lastUsage() {
  await eventually(async () => (await f.h.admin.usage({ limit: 1 })).data.length > 0, "a usage row");
  return (await f.h.admin.usage({ limit: 1 })).data[0]!;
}

describe("POST /v1/messages passed through to an anthropic channel", () => {
  test("messages.create: the answer as the upstream gave it; the upstream got its own key in x-api-key", async () => {
    const m = await client.messages.create({ model: MODEL, max_tokens: 100, messages: [{ role: "user", content: "hi" }] });
    expect(m).toMatchObject({ type: "message", role: "assistant", model: MODEL, content: [{ type: "text", text: "Hello from claude" }], stop_reason: "end_turn" });
    const seen = upstream.requests.at(-1)!;
    expect(seen.path).toBe("/v1/messages");
    expect(seen.headers["x-api-key"]).toBe("sk-ant-upstream");
    expect(seen.headers.authorization).toBeUndefined();
    expect(JSON.stringify(seen.headers)).not.toContain(key);
    expect(seen.headers["anthropic-version"]).toBeDefined(); // the SDK's own, forwarded verbatim
  });

  test("the body goes upstream untouched but for the model id; anthropic-* headers are forwarded", async () => {
    const body = {
      model: "claude-alias", max_tokens: 64,
      system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
      thinking: { type: "enabled", budget_tokens: 1024 },
      context_management: { edits: [{ type: "clear_tool_uses_20250919" }] },
      tools: [{ name: "get_weather", description: "w", input_schema: { type: "object", properties: {} }, strict: true }],
      messages: [{ role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }] }],
    };
    const res = await fetch(`${f.h.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01", "anthropic-beta": "context-management-2025-06-27,prompt-caching-2024-07-31" },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).model).toBe("claude-alias"); // the alias, never the upstream id
    const seen = upstream.requests.at(-1)!;
    expect(seen.body).toEqual({ ...body, model: MODEL });
    expect(seen.headers["anthropic-version"]).toBe("2023-06-01");
    expect(seen.headers["anthropic-beta"]).toBe("context-management-2025-06-27,prompt-caching-2024-07-31");
    expect(seen.query).toBe("?beta=true");
  });

  test("anthropic-version 2023-06-01 is sent when the client sent none", async () => {
    const res = await fetch(`${f.h.url}/v1/messages`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, max_tokens: 5, messages: [{ role: "user", content: "hi" }] }) });
    expect(res.status).toBe(200);
    expect(upstream.requests.at(-1)!.headers["anthropic-version"]).toBe("2023-06-01");
  });

  test("a stream's usage: input and cache from message_start, output from the last message_delta (never summed)", async () => {
    const mock = JSON.stringify({ promptTokens: 7, cacheReadTokens: 100, cacheWriteTokens: 20, chunks: 6 });
    const stream = client.messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: "user", content: "hi" }] }, { headers: { "x-mock-behavior": mock } });
    const final = await stream.finalMessage();
    expect(final.usage).toMatchObject({ input_tokens: 7, output_tokens: 6, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 });
    expect(final.content).toMatchObject([{ type: "text", text: "tok1 tok2 tok3 tok4 tok5 tok6 " }]);
    const row = await lastUsage();
    expect(row).toMatchObject({ endpoint: "/v1/messages", stream: true, promptTokens: 127, completionTokens: 6, cachedTokens: 100, cacheWriteTokens: 20, tokensEstimated: false });
    expect(row.cost).toBe(133);
  });

  test("tools and thinking come back as the upstream streamed them", async () => {
    const mock = JSON.stringify({ toolUse: { name: "get_weather", input: { city: "Paris" } }, thinking: "let me think" });
    const final = await client.messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: "user", content: "weather?" }] }, { headers: { "x-mock-behavior": mock } }).finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content.map((b) => b.type)).toEqual(["thinking", "text", "tool_use"]);
    expect(final.content[2]).toMatchObject({ name: "get_weather", input: { city: "Paris" } });
  });

  test("countTokens is passed through", async () => {
    const r = await client.messages.countTokens({ model: MODEL, messages: [{ role: "user", content: "hello" }] }, { headers: { "x-mock-behavior": JSON.stringify({ promptTokens: 42 }) } });
    expect(r.input_tokens).toBe(42);
    expect(upstream.requests.at(-1)!.path).toBe("/v1/messages/count_tokens");
  });

  test("a stream the upstream breaks ends with an event: error frame in Anthropic's envelope, charged for what it delivered", async () => {
    const res = await fetch(`${f.h.url}/v1/messages`, {
      method: "POST", headers: { "x-api-key": key, "content-type": "application/json", "x-mock-behavior": JSON.stringify({ behavior: "disconnect", chunks: 3 }) },
      body: JSON.stringify({ model: MODEL, max_tokens: 100, stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("tok3");
    const tail = text.trim().split("\n\n").at(-1)!;
    expect(tail.split("\n")[0]).toBe("event: error");
    expect(JSON.parse(tail.split("\n")[1]!.slice(6))).toEqual({ type: "error", error: { type: "api_error", message: "The upstream connection was lost mid-stream.", code: "upstream_error" } });
    const row = await lastUsage();
    expect(row).toMatchObject({ status: 502, errorCode: "upstream_error" });
    expect(row.completionTokens).toBeGreaterThan(0);
  });
});

describe("relay's own errors on the Messages API", () => {
  const raw = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${f.h.url}/v1/messages`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

  test("are Anthropic's envelope with relay's code, x-request-id and the right type per status", async () => {
    const res = await raw({ model: MODEL, max_tokens: 5, messages: [] }, { "x-api-key": "sk-app-nope" });
    expect(res.status).toBe(401);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    const body = (await res.json()) as any;
    expect(body).toEqual({ type: "error", error: { type: "authentication_error", message: "Incorrect API key provided.", code: "invalid_api_key" }, request_id: res.headers.get("x-request-id") });
  });

  test("map to the SDK's error classes", async () => {
    const bad = new Anthropic({ baseURL: f.h.url, apiKey: "sk-app-nope", maxRetries: 0 });
    // (The SDK's APIPromise is a thenable of its own: caught, not passed to expect().rejects.)
    expect(await bad.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: "user", content: "x" }] }).catch((e) => e)).toBeInstanceOf(Anthropic.AuthenticationError);
    const err = await client.messages.create({ model: "no-such-model", max_tokens: 5, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect(err.error).toMatchObject({ type: "error", error: { type: "not_found_error", code: "model_not_found" } });
    expect(err.requestID ?? err.headers?.get?.("x-request-id")).toBeTruthy();
    const missing = await client.messages.create({ model: MODEL, messages: [{ role: "user", content: "x" }] } as never).catch((e) => e);
    expect(missing).toBeInstanceOf(Anthropic.BadRequestError);
    expect(missing.error.error.message).toContain("max_tokens");

    const poor = await f.userWithKey("claude-poor", { credits: 1 });
    const broke = await new Anthropic({ baseURL: f.h.url, apiKey: poor.key, maxRetries: 0 }).messages.create({ model: MODEL, max_tokens: 1000, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(broke.status).toBe(402);
    expect(broke.error).toMatchObject({ error: { type: "billing_error", code: "quota_exceeded" } });

    const scoped = await f.userWithKey("claude-scoped", { credits: 100 }, { models: ["other"] });
    const denied = await new Anthropic({ baseURL: f.h.url, apiKey: scoped.key, maxRetries: 0 }).messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);
  });

  test("a concurrency refusal is a RateLimitError with Retry-After; a stream holds its slot", async () => {
    const one = await f.userWithKey("claude-one", { credits: 10_000, concurrency: 1 });
    const c1 = new Anthropic({ baseURL: f.h.url, apiKey: one.key, maxRetries: 0 });
    const held = await fetch(`${f.h.url}/v1/messages`, {
      method: "POST", headers: { "x-api-key": one.key, "content-type": "application/json", "x-mock-behavior": JSON.stringify({ behavior: "drip", delayMs: 100, chunks: 10 }) },
      body: JSON.stringify({ model: MODEL, max_tokens: 100, stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    const err = await c1.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: "user", content: "x" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect(err.headers.get("retry-after")).toBe("1");
    expect(err.error.error.code).toBe("concurrency_limit_exceeded");
    await held.text();
  });

  test("the upstream's own 429 and 529 reach the client as they were, after failover", async () => {
    const r429 = await client.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: "user", content: "x" }] }, { headers: { "x-mock-behavior": JSON.stringify({ behavior: "status", status: 429, retryAfter: 3 }) } }).catch((e) => e);
    expect(r429).toBeInstanceOf(Anthropic.RateLimitError);
    expect(r429.error.error.type).toBe("rate_limit_error");
    const r529 = await client.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: "user", content: "x" }] }, { headers: { "x-mock-behavior": JSON.stringify({ behavior: "status", status: 529 }) } }).catch((e) => e);
    expect(r529.status).toBe(529);
    expect(r529.error.error.type).toBe("overloaded_error");
  });
});

describe("GET /v1/models for both kinds of client", () => {
  test("the Anthropic SDK lists the models; OpenAI's fields are there too", async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toContain(MODEL);
    expect(ids).toContain("claude-alias");
    const raw = (await (await fetch(`${f.h.url}/v1/models`, { headers: { "x-api-key": key, "anthropic-version": "2023-06-01" } })).json()) as any;
    expect(raw).toMatchObject({ object: "list", has_more: false, first_id: raw.data[0].id, last_id: raw.data.at(-1).id });
    expect(raw.data[0]).toMatchObject({ object: "model", type: "model", owned_by: "relay" });
    expect(typeof raw.data[0].display_name).toBe("string");
    expect(new Date(raw.data[0].created_at).toISOString()).toBe(raw.data[0].created_at);
    expect(typeof raw.data[0].created).toBe("number");
  });
});

test("accounting stays consistent through all of the above", async () => {
  expect(await ledgerViolations(f.h)).toEqual([]);
});
