import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { startMockAnthropic, type MockAnthropic } from "../support/mock-anthropic";
import { eventually, relayWithMocks } from "../support/relay-fixture";
import { ledgerViolations } from "../support/limits-helpers";

/**
 * Either shape reaches either channel type: an Anthropic client on a model only OpenAI channels serve,
 * an OpenAI chat client on a model only Anthropic channels serve, with the official SDKs on both ends.
 */
let f: Awaited<ReturnType<typeof relayWithMocks>>;
let claude: MockAnthropic;
let key: string;
let anthropic: Anthropic;
let openai: OpenAI;
beforeAll(async () => {
  f = await relayWithMocks(1, { RELAY_STREAM_PING_MS: "200" });
  claude = await startMockAnthropic("claude", { requireXApiKey: true });
  await f.channel(f.mocks[0]!, { name: "oa", models: ["gpt-test", "both"] });
  await f.h.admin.channels.create({ name: "an", type: "anthropic", group: "official", baseUrl: claude.url, apiKey: "sk-ant-up", models: ["claude-only", "both"] });
  await f.h.admin.prices.set("gpt-test", { inputPerMTok: 1_000_000, outputPerMTok: 1_000_000 });
  ({ key } = await f.userWithKey("trans", { credits: 1_000_000, concurrency: 10 }));
  anthropic = new Anthropic({ baseURL: f.h.url, apiKey: key, maxRetries: 0 });
  openai = new OpenAI({ baseURL: `${f.h.url}/v1`, apiKey: key, maxRetries: 0 });
});
afterAll(async () => {
  await f.close();
  await claude.stop();
});

const mockHeader = (o: object) => ({ headers: { "x-mock-behavior": JSON.stringify(o) } });
async function lastUsage() {
  await eventually(async () => (await f.h.admin.usage({ limit: 1 })).data.length > 0, "a usage row");
  return (await f.h.admin.usage({ limit: 1 })).data[0]!;
}

describe("an Anthropic client on an OpenAI channel", () => {
  test("messages.create: the request becomes a chat completion, the answer a Message", async () => {
    const m = await anthropic.messages.create({
      model: "gpt-test", max_tokens: 100, system: [{ type: "text", text: "Be brief." }], stop_sequences: ["END"],
      tools: [{ name: "get_weather", description: "the weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
      tool_choice: { type: "any" }, thinking: { type: "enabled", budget_tokens: 2000 },
      messages: [
        { role: "user", content: [{ type: "text", text: "weather?" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } }] },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "sunny" }] },
      ],
    }, mockHeader({ toolCall: { id: "call_9", name: "get_weather", arguments: '{"city":"Rome"}' }, reasoning: "hmm" }));
    expect(m.stop_reason).toBe("tool_use");
    expect(m.model).toBe("gpt-test");
    expect(m.content).toMatchObject([{ type: "thinking", thinking: "hmm" }, { type: "text", text: "Hello from up1" }, { type: "tool_use", id: "call_9", name: "get_weather", input: { city: "Rome" } }]);
    const sent = f.mocks[0]!.requests.at(-1)!;
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.headers.authorization).toBe("Bearer sk-upstream-up1");
    expect(Object.keys(sent.headers).filter((h) => h.startsWith("anthropic-"))).toEqual([]);
    expect(sent.body.messages[0]).toEqual({ role: "system", content: "Be brief." });
    expect(sent.body.messages.at(-1)).toMatchObject({ role: "tool", tool_call_id: "toolu_1", content: "sunny" });
    expect(sent.body.messages[1].content[1]).toEqual({ type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } });
    expect(sent.body.tool_choice).toBe("required");
    expect(sent.body.stop).toEqual(["END"]);
    expect(sent.body.max_tokens).toBe(100);
    expect(sent.body.thinking).toBeUndefined(); // Anthropic-only: dropped, never forwarded into a 400
  });

  test("messages.stream().finalMessage(): text, tool arguments in pieces, usage with cached tokens", async () => {
    const final = await anthropic.messages.stream({ model: "gpt-test", max_tokens: 100, messages: [{ role: "user", content: "hi" }] },
      mockHeader({ toolCall: { id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }, promptTokens: 120, cachedTokens: 100, chunks: 3 })).finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content).toMatchObject([{ type: "text", text: "tok1 tok2 tok3 " }, { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } }]);
    expect(final.usage).toMatchObject({ input_tokens: 20, cache_read_input_tokens: 100, output_tokens: 3 });
    expect(f.mocks[0]!.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
    const row = await lastUsage();
    expect(row).toMatchObject({ endpoint: "/v1/messages", model: "gpt-test", promptTokens: 120, cachedTokens: 100, completionTokens: 3, tokensEstimated: false, status: 200 });
  });

  test("a silent upstream is covered by event: ping; the answer still arrives", async () => {
    const res = await fetch(`${f.h.url}/v1/messages`, {
      method: "POST", headers: { "x-api-key": key, "content-type": "application/json", ...mockHeader({ behavior: "drip", delayMs: 700, chunks: 2 }).headers },
      body: JSON.stringify({ model: "gpt-test", max_tokens: 50, stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    const text = await res.text();
    expect(text).toContain("event: ping");
    expect(text.indexOf("event: message_start")).toBeGreaterThanOrEqual(0);
    expect(text.trim().endsWith('data: {"type":"message_stop"}')).toBe(true);
  });

  test("count_tokens for an OpenAI-only model is counted by relay", async () => {
    const r = await anthropic.messages.countTokens({ model: "gpt-test", system: "You are terse.", messages: [{ role: "user", content: "hello world" }] });
    expect(r.input_tokens).toBeGreaterThan(3);
    expect(f.mocks[0]!.requests.at(-1)!.path).not.toContain("count_tokens");
  });

  test("an upstream error comes back in Anthropic's envelope with its status", async () => {
    const err = await anthropic.messages.create({ model: "gpt-test", max_tokens: 5, messages: [{ role: "user", content: "x" }] }, mockHeader({ behavior: "status", status: 400 })).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: "mock upstream up1 answered 400" } });
  });
});

describe("an OpenAI chat client on an Anthropic channel", () => {
  test("chat.completions.create: the request becomes a Messages request with the channel's key in x-api-key", async () => {
    const c = await openai.chat.completions.create({
      model: "claude-only", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "weather?" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: {} } } }], tool_choice: "required",
      response_format: { type: "json_object" }, seed: 7,
    }, mockHeader({ toolUse: { name: "get_weather", input: { city: "Oslo" } } }));
    expect(c.model).toBe("claude-only");
    expect(c.choices[0]!.finish_reason).toBe("tool_calls");
    expect(c.choices[0]!.message.tool_calls![0]).toMatchObject({ type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } });
    const sent = claude.requests.at(-1)!;
    expect(sent.path).toBe("/v1/messages");
    expect(sent.headers["x-api-key"]).toBe("sk-ant-up");
    expect(sent.body.system).toBe("Be brief.");
    expect(sent.body.tool_choice).toEqual({ type: "any" });
    expect(sent.body.max_tokens).toBeGreaterThan(0);
    for (const field of ["response_format", "seed", "stream_options", "n"]) expect(sent.body[field]).toBeUndefined();
  });

  test("a stream with include_usage: chunks, tool-call deltas, then a usage chunk and [DONE]", async () => {
    const stream = await openai.chat.completions.create({ model: "claude-only", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } },
      mockHeader({ chunks: 4, promptTokens: 9, cacheReadTokens: 30 }));
    let text = "";
    let usage: any = null;
    for await (const chunk of stream) {
      expect(chunk.model).toBe("claude-only");
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("tok1 tok2 tok3 tok4 ");
    expect(usage).toMatchObject({ prompt_tokens: 39, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 30 } });
    const row = await lastUsage();
    expect(row).toMatchObject({ endpoint: "/v1/chat/completions", promptTokens: 39, cachedTokens: 30, completionTokens: 4 });
  });

  test("n > 1 cannot be translated: a clear 400, the upstream untouched", async () => {
    const before = claude.requests.length;
    const err = await openai.chat.completions.create({ model: "claude-only", messages: [{ role: "user", content: "x" }], n: 2 }).catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.error?.message ?? err.message).toContain("n > 1");
    expect(claude.requests.length).toBe(before);
  });

  test("embeddings never go to an Anthropic channel", async () => {
    const err = await openai.embeddings.create({ model: "claude-only", input: "x" }).catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.error?.message ?? err.message).toContain("Anthropic");
  });
});

describe("routing across types", () => {
  test("failover crosses types: the OpenAI channel fails, the Anthropic one answers the same request", async () => {
    f.mocks[0]!.set({ behavior: "status", status: 503 });
    try {
      // Both channels serve "both"; whichever is tried first, the answer must come from the Anthropic one.
      for (let i = 0; i < 4; i++) {
        const m = await anthropic.messages.create({ model: "both", max_tokens: 20, messages: [{ role: "user", content: "x" }] });
        expect(m.content).toMatchObject([{ type: "text", text: "Hello from claude" }]);
      }
      const c = await openai.chat.completions.create({ model: "both", messages: [{ role: "user", content: "x" }] });
      expect(c.choices[0]!.message.content).toBe("Hello from claude");
    } finally {
      f.mocks[0]!.set({});
    }
  });

  test("the books balance", async () => {
    expect(await ledgerViolations(f.h)).toEqual([]);
  });
});
