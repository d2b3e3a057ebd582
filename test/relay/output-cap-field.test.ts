import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { maxTokensFieldFor } from "../../server/relay/conversions/max-tokens-field";
import { chat, post, relayWithMocks } from "../support/relay-fixture";

/**
 * The output cap relay injects reaches both OpenAI's reasoning models (which refuse max_tokens) and providers
 * that know only max_tokens: chosen by the model, and switched on one retry when the upstream refuses it.
 */
let f: Awaited<ReturnType<typeof relayWithMocks>>;
let key: string;
beforeAll(async () => {
  f = await relayWithMocks(1);
  await f.channel(f.mocks[0]!, { models: ["o3-mini", "gpt-5", "plain-model", "odd-reasoner"] });
  for (const m of ["o3-mini", "gpt-5", "plain-model", "odd-reasoner"]) await f.h.admin.prices.set(m, { inputPerMTok: 0, outputPerMTok: 1_000_000 });
  ({ key } = await f.userWithKey("cap", { credits: 500 }));
});
afterAll(() => f.close());

const sent = () => f.mocks[0]!.requests.at(-1)!.body;

describe("the injected output cap's field", () => {
  test("reasoning models get max_completion_tokens; others max_tokens", async () => {
    expect((await post(f.h, key, "/v1/chat/completions", chat("o3-mini"))).status).toBe(200);
    expect(sent().max_completion_tokens).toBe(500);
    expect(sent().max_tokens).toBeUndefined();
    expect((await post(f.h, key, "/v1/chat/completions", chat("plain-model"))).status).toBe(200);
    expect(sent().max_tokens).toBeGreaterThan(400);
    expect(sent().max_completion_tokens).toBeUndefined();
  });

  test("an upstream that refuses the chosen field gets the other one, once, on the same channel", async () => {
    const before = f.mocks[0]!.requests.length;
    const res = await post(f.h, key, "/v1/chat/completions", chat("odd-reasoner"), { "x-mock-behavior": JSON.stringify({ rejectField: "max_tokens" }) });
    expect(res.status).toBe(200);
    const tries = f.mocks[0]!.requests.slice(before).map((r) => Object.keys(r.body).filter((k) => k.startsWith("max_")));
    expect(tries).toEqual([["max_tokens"], ["max_completion_tokens"]]);
  });

  test("a client's own field is never switched: its 400 reaches it as it was", async () => {
    const res = await post(f.h, key, "/v1/chat/completions", chat("odd-reasoner", { max_tokens: 10 }), { "x-mock-behavior": JSON.stringify({ rejectField: "max_tokens" }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe("unsupported_parameter");
  });

  test("an Anthropic client on a reasoning model's OpenAI channel: the translated request uses max_completion_tokens", async () => {
    const a = new Anthropic({ baseURL: f.h.url, apiKey: key, maxRetries: 0 });
    await a.messages.create({ model: "gpt-5", max_tokens: 64, messages: [{ role: "user", content: "hi" }] });
    expect(sent().max_completion_tokens).toBe(64);
    expect(sent().max_tokens).toBeUndefined();
  });

  test("the rule", () => {
    expect(maxTokensFieldFor({}, "o1")).toBe("max_completion_tokens");
    expect(maxTokensFieldFor({}, "openai/o4-mini")).toBe("max_completion_tokens");
    expect(maxTokensFieldFor({}, "gpt-5-mini")).toBe("max_completion_tokens");
    expect(maxTokensFieldFor({}, "gpt-4o")).toBe("max_tokens");
    expect(maxTokensFieldFor({}, "deepseek-chat")).toBe("max_tokens");
    expect(maxTokensFieldFor({ max_completion_tokens: 5 }, "gpt-4o")).toBe("max_completion_tokens");
    expect(maxTokensFieldFor({ max_tokens: 5 }, "o3")).toBe("max_tokens");
  });
});

describe("unknown fields on a same-shape path", () => {
  test("pass through untouched (Gemini's thought_signature on tool calls)", async () => {
    const body = chat("plain-model", {
      messages: [
        { role: "user", content: "x" },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" }, extra_content: { google: { thought_signature: "sig-abc" } } }] },
        { role: "tool", tool_call_id: "c1", content: "ok" },
      ],
      some_vendor_flag: { keep: true },
    });
    expect((await post(f.h, key, "/v1/chat/completions", body)).status).toBe(200);
    expect(sent().messages[1].tool_calls[0].extra_content).toEqual({ google: { thought_signature: "sig-abc" } });
    expect(sent().some_vendor_flag).toEqual({ keep: true });
  });
});
