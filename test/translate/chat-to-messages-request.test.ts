import { describe, expect, test } from "bun:test";
import { chatToMessagesRequest } from "../../server/translate/chat-to-messages-request";

const opts = { upstreamModel: "claude-up", maxTokens: 4096 };
const translate = (body: Record<string, unknown>) => chatToMessagesRequest({ model: "gpt-client", ...body }, opts) as any;
const text = (t: string) => ({ type: "text", text: t });

describe("chat request → Messages request: system and content", () => {
  test("model is the upstream's; max_tokens is the relay's, whatever the client asked", () => {
    expect(translate({ messages: [{ role: "user", content: "hi" }], max_tokens: 10, max_completion_tokens: 20 }))
      .toEqual({ model: "claude-up", max_tokens: 4096, messages: [{ role: "user", content: [text("hi")] }] });
  });

  test("system and developer messages, wherever they are, join into `system`", () => {
    const r = translate({ messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "hi" },
      { role: "developer", content: [text("Answer in French."), text("No emoji.")] },
    ] });
    expect(r.system).toBe("Be brief.\n\nAnswer in French.\nNo emoji.");
    expect(r.messages).toEqual([{ role: "user", content: [text("hi")] }]);
    expect("system" in translate({ messages: [{ role: "user", content: "hi" }] })).toBe(false);
  });

  test("user parts: text; image_url data: URL → base64 source, http(s) → url source; others dropped", () => {
    const r = translate({ messages: [{ role: "user", content: [
      text("Look:"),
      { type: "image_url", image_url: { url: "data:image/webp;base64,UklGRg==", detail: "high" } },
      { type: "image_url", image_url: { url: "https://example.com/a.png" } },
      { type: "image_url", image_url: { url: "ftp://example.com/a.png" } },
      { type: "input_audio", input_audio: { data: "AAA", format: "wav" } },
      text("   "),
    ] }] });
    expect(r.messages[0].content).toEqual([
      text("Look:"),
      { type: "image", source: { type: "base64", media_type: "image/webp", data: "UklGRg==" } },
      { type: "image", source: { type: "url", url: "https://example.com/a.png" } },
    ]);
  });

  test("consecutive same-role messages merge (Anthropic wants turns to alternate); empty ones vanish", () => {
    const r = translate({ messages: [
      { role: "user", content: "a" }, { role: "user", content: "b" },
      { role: "assistant", content: "" }, { role: "user", content: [text("c")] },
      { role: "assistant", content: [text("d"), { type: "refusal", refusal: "no" }] },
    ] });
    expect(r.messages).toEqual([
      { role: "user", content: [text("a"), text("b"), text("c")] },
      { role: "assistant", content: [text("d\nno")] },
    ]);
  });
});

describe("chat request → Messages request: tools in the history", () => {
  const history = [
    { role: "user", content: "Weather in Paris and Rome?" },
    { role: "assistant", content: "Checking.", tool_calls: [
      { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      { id: "call_2", type: "function", function: { name: "get_weather", arguments: '{"city":' } },
    ] },
    { role: "tool", tool_call_id: "call_1", content: "18°C" },
    { role: "tool", tool_call_id: "call_2", content: [text("timeout")] },
    { role: "user", content: "Thanks" },
  ];

  test("assistant content + tool_calls → text and tool_use blocks; broken arguments → {}", () => {
    expect(translate({ messages: history }).messages[1]).toEqual({ role: "assistant", content: [
      text("Checking."),
      { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
      { type: "tool_use", id: "call_2", name: "get_weather", input: {} },
    ] });
  });

  test("consecutive tool messages → ONE user message of tool_result blocks, the next user text after them", () => {
    const r = translate({ messages: history });
    expect(r.messages.length).toBe(3);
    expect(r.messages[2]).toEqual({ role: "user", content: [
      { type: "tool_result", tool_use_id: "call_1", content: "18°C" },
      { type: "tool_result", tool_use_id: "call_2", content: "timeout" },
      text("Thanks"),
    ] });
  });

  test("tool results come first in a merged user turn even if a user message came before them; empty output has no content", () => {
    const r = translate({ messages: [
      { role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }] },
      { role: "user", content: "early" },
      { role: "tool", tool_call_id: "c", content: "" },
    ] });
    expect(r.messages[1].content).toEqual([{ type: "tool_result", tool_use_id: "c" }, text("early")]);
  });
});

describe("chat request → Messages request: tools, choice and parameters", () => {
  const fn = { type: "function", function: { name: "get_weather", description: "Weather now", parameters: { type: "object", properties: { city: { type: "string" } } }, strict: true } };
  const msgs = [{ role: "user", content: "x" }];

  test("function tools → name, description, input_schema (an empty object schema when there are no parameters)", () => {
    const r = translate({ messages: msgs, tools: [fn, { type: "function", function: { name: "ping" } }, { type: "custom", custom: { name: "grammar" } }] });
    expect(r.tools).toEqual([
      { name: "get_weather", description: "Weather now", input_schema: fn.function.parameters },
      { name: "ping", input_schema: { type: "object", properties: {} } },
    ]);
  });

  test("tool_choice auto / required / none / a function", () => {
    const choice = (tool_choice: unknown) => translate({ messages: msgs, tools: [fn], tool_choice }).tool_choice;
    expect(choice("auto")).toEqual({ type: "auto" });
    expect(choice("required")).toEqual({ type: "any" });
    expect(choice("none")).toEqual({ type: "none" });
    expect(choice({ type: "function", function: { name: "get_weather" } })).toEqual({ type: "tool", name: "get_weather" });
    expect(choice(undefined)).toBeUndefined();
  });

  test("parallel_tool_calls:false → disable_parallel_tool_use on the choice (auto when none was given)", () => {
    const r = (extra: Record<string, unknown>) => translate({ messages: msgs, tools: [fn], parallel_tool_calls: false, ...extra }).tool_choice;
    expect(r({})).toEqual({ type: "auto", disable_parallel_tool_use: true });
    expect(r({ tool_choice: "required" })).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(r({ tool_choice: { type: "function", function: { name: "get_weather" } } })).toEqual({ type: "tool", name: "get_weather", disable_parallel_tool_use: true });
    expect(r({ tool_choice: "none" })).toEqual({ type: "none" });
    expect(translate({ messages: msgs, tools: [fn], parallel_tool_calls: true }).tool_choice).toBeUndefined();
  });

  test("no tools: no tool fields, whatever tool_choice says", () => {
    const r = translate({ messages: msgs, tool_choice: "required", parallel_tool_calls: false });
    expect("tools" in r || "tool_choice" in r).toBe(false);
  });

  test("stop string|array → stop_sequences; temperature clamped to [0,1]; top_p; user → metadata.user_id; stream copied", () => {
    expect(translate({ messages: msgs, stop: "END" }).stop_sequences).toEqual(["END"]);
    expect(translate({ messages: msgs, stop: ["A", "B", " "] }).stop_sequences).toEqual(["A", "B"]);
    expect(translate({ messages: msgs, temperature: 1.7 }).temperature).toBe(1);
    expect(translate({ messages: msgs, temperature: -1 }).temperature).toBe(0);
    expect(translate({ messages: msgs, temperature: 0.4, top_p: 0.8 })).toMatchObject({ temperature: 0.4, top_p: 0.8 });
    expect(translate({ messages: msgs, user: "u-9" }).metadata).toEqual({ user_id: "u-9" });
    expect(translate({ messages: msgs, stream: true, stream_options: { include_usage: true } })).toMatchObject({ stream: true });
    expect(translate({ messages: msgs, stream: false }).stream).toBe(false);
  });

  test("OpenAI-only fields never reach the Messages request", () => {
    const r = translate({
      messages: msgs, tools: [fn], n: 2, logprobs: true, top_logprobs: 3, response_format: { type: "json_object" }, seed: 1,
      frequency_penalty: 0.5, presence_penalty: 0.5, logit_bias: { "1": 2 }, stream: true, stream_options: { include_usage: true },
      reasoning_effort: "high", modalities: ["text"], audio: { voice: "x" }, prediction: { type: "content", content: "x" },
      store: true, metadata: { tag: "t" }, service_tier: "flex", verbosity: "low", web_search_options: {}, safety_identifier: "s",
      prompt_cache_key: "k", functions: [], function_call: "auto",
    });
    expect(Object.keys(r).sort()).toEqual(["max_tokens", "messages", "model", "stream", "tools"]);
    expect(JSON.stringify(r)).not.toContain("strict");
  });
});
