import { describe, expect, test } from "bun:test";
import { messagesToChatRequest } from "../../server/translate/messages-to-chat-request";

const opts = { upstreamModel: "gpt-up", maxTokensField: "max_tokens" as const };
const user = (content: unknown) => ({ role: "user", content });
const translate = (body: Record<string, unknown>, o: Parameters<typeof messagesToChatRequest>[1] = opts) =>
  messagesToChatRequest({ model: "claude-client", max_tokens: 100, ...body }, o) as any;

describe("Messages request → chat request: system and content", () => {
  test("model is the upstream's; max_tokens goes in the field the channel wants", () => {
    expect(translate({ messages: [user("hi")] })).toEqual({ model: "gpt-up", max_tokens: 100, messages: [{ role: "user", content: "hi" }] });
    const r = translate({ messages: [user("hi")] }, { upstreamModel: "o3", maxTokensField: "max_completion_tokens" });
    expect(r.max_completion_tokens).toBe(100);
    expect("max_tokens" in r).toBe(false);
  });

  test("system as a string is one leading system message", () => {
    expect(translate({ system: "Be brief.", messages: [user("hi")] }).messages[0]).toEqual({ role: "system", content: "Be brief." });
  });

  test("system as text blocks is one leading system message, cache_control dropped", () => {
    const r = translate({
      system: [{ type: "text", text: "You are Claude Code." }, { type: "text", text: "Rules.", cache_control: { type: "ephemeral" } }],
      messages: [user("hi")],
    });
    expect(r.messages).toEqual([{ role: "system", content: "You are Claude Code.\nRules." }, { role: "user", content: "hi" }]);
  });

  test("a role:system message inside messages stays in place as a system message", () => {
    const r = translate({ messages: [user("a"), { role: "system", content: [{ type: "text", text: "Now be terse." }] }, user("b")] });
    expect(r.messages.map((m: any) => m.role)).toEqual(["user", "system", "user"]);
    expect(r.messages[1].content).toBe("Now be terse.");
  });

  test("text blocks become a string (several OpenAI-compatible upstreams take no arrays)", () => {
    const r = translate({ messages: [user([{ type: "text", text: "<reminder/>" }, { type: "text", text: "Question?", cache_control: { type: "ephemeral" } }])] });
    expect(r.messages).toEqual([{ role: "user", content: "<reminder/>\nQuestion?" }]);
  });

  test("images: base64 → data: URL, url → url; text beside them becomes a text part", () => {
    const r = translate({
      messages: [user([
        { type: "text", text: "What are these?" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
        { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
        { type: "image", source: { type: "file", file_id: "file_1" } },
      ])],
    });
    expect(r.messages[0].content).toEqual([
      { type: "text", text: "What are these?" },
      { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
      { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
    ]);
  });

  test("a text document is text; other documents and unknown blocks are dropped", () => {
    const r = translate({ messages: [user([
      { type: "document", source: { type: "text", media_type: "text/plain", data: "The doc." }, citations: { enabled: true } },
      { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBE" } },
      { type: "search_result", source: "x", title: "t", content: [] },
      { type: "text", text: "Summarise." },
    ])] });
    expect(r.messages).toEqual([{ role: "user", content: "The doc.\nSummarise." }]);
  });
});

describe("Messages request → chat request: tools in the history", () => {
  const history = [
    user("Weather in Paris and Rome?"),
    {
      role: "assistant",
      content: [
        { type: "thinking", thinking: "Two cities.", signature: "sig" },
        { type: "redacted_thinking", data: "xyz" },
        { type: "text", text: "Checking." },
        { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
        { type: "tool_use", id: "toolu_2", name: "get_weather", input: { city: "Rome" }, cache_control: { type: "ephemeral" } },
      ],
    },
    user([
      { type: "text", text: "Here you go." },
      { type: "tool_result", tool_use_id: "toolu_1", content: "18°C" },
      { type: "tool_result", tool_use_id: "toolu_2", is_error: true, content: [{ type: "text", text: "Rome: " }, { type: "text", text: "timeout" }] },
    ]),
  ];

  test("tool_use blocks → tool_calls with JSON arguments, the text as content; thinking dropped", () => {
    const r = translate({ messages: history });
    expect(r.messages[1]).toEqual({
      role: "assistant",
      content: "Checking.",
      tool_calls: [
        { id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
        { id: "toolu_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
      ],
    });
  });

  test("tool_result blocks → tool messages, before the rest of that user message; is_error passes the text only", () => {
    const r = translate({ messages: history });
    expect(r.messages.slice(2)).toEqual([
      { role: "tool", tool_call_id: "toolu_1", content: "18°C" },
      { role: "tool", tool_call_id: "toolu_2", content: "Rome: \ntimeout" },
      { role: "user", content: "Here you go." },
    ]);
  });

  test("an assistant turn of tool_use only has content null; one of thinking only is left out", () => {
    const r = translate({ messages: [
      user("x"),
      { role: "assistant", content: [{ type: "tool_use", id: "t", name: "f", input: {} }] },
      user([{ type: "tool_result", tool_use_id: "t", content: "ok" }]),
      { role: "assistant", content: [{ type: "thinking", thinking: "hm", signature: "s" }] },
      { role: "assistant", content: "Prefilled" },
    ] });
    expect(r.messages[1]).toEqual({ role: "assistant", content: null, tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{}" } }] });
    expect(r.messages.slice(2)).toEqual([{ role: "tool", tool_call_id: "t", content: "ok" }, { role: "assistant", content: "Prefilled" }]);
  });

  test("an image a tool returned moves into a user message right after the tool messages", () => {
    const r = translate({ messages: [user([{ type: "tool_result", tool_use_id: "t", content: [
      { type: "text", text: "screenshot" },
      { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "AAA" } },
    ] }])] });
    expect(r.messages).toEqual([
      { role: "tool", tool_call_id: "t", content: "screenshot" },
      { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/jpeg;base64,AAA" } }] },
    ]);
  });
});

describe("Messages request → chat request: tools, choice and parameters", () => {
  const weather = { name: "get_weather", description: "Weather now", input_schema: { type: "object", properties: { city: { type: "string" } } }, cache_control: { type: "ephemeral" } };

  test("custom tools → functions (strict kept); server tools skipped", () => {
    const r = translate({ messages: [user("x")], tools: [
      weather,
      { type: "custom", name: "calc", input_schema: { type: "object" }, strict: true, defer_loading: false },
      { type: "web_search_20250305", name: "web_search", max_uses: 3 },
      { type: "bash_20250124", name: "bash" },
    ] });
    expect(r.tools).toEqual([
      { type: "function", function: { name: "get_weather", description: "Weather now", parameters: weather.input_schema } },
      { type: "function", function: { name: "calc", parameters: { type: "object" }, strict: true } },
    ]);
  });

  test("tool_choice auto / any / tool / none; disable_parallel_tool_use → parallel_tool_calls false", () => {
    const choice = (tool_choice: unknown) => translate({ messages: [user("x")], tools: [weather], tool_choice });
    expect(choice({ type: "auto" }).tool_choice).toBe("auto");
    expect(choice({ type: "any" }).tool_choice).toBe("required");
    expect(choice({ type: "none" }).tool_choice).toBe("none");
    expect(choice({ type: "tool", name: "get_weather" }).tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
    expect(choice({ type: "auto", disable_parallel_tool_use: true }).parallel_tool_calls).toBe(false);
    expect("parallel_tool_calls" in choice({ type: "any", disable_parallel_tool_use: false })).toBe(false);
    expect("tool_choice" in choice(undefined)).toBe(false);
  });

  test("no function tools left: no tools, tool_choice or parallel_tool_calls at all", () => {
    const r = translate({ messages: [user("x")], tools: [{ type: "web_search_20250305", name: "web_search" }], tool_choice: { type: "any", disable_parallel_tool_use: true } });
    for (const f of ["tools", "tool_choice", "parallel_tool_calls"]) expect(f in r).toBe(false);
    expect("parallel_tool_calls" in translate({ messages: [user("x")], tool_choice: { type: "auto", disable_parallel_tool_use: true } })).toBe(false);
  });

  test("forcing a server tool that was left out becomes auto, not a 400 upstream", () => {
    expect(translate({ messages: [user("x")], tools: [weather, { type: "web_search_20250305", name: "web_search" }], tool_choice: { type: "tool", name: "web_search" } }).tool_choice).toBe("auto");
  });

  test("stop_sequences → stop; temperature and top_p copied; metadata.user_id → user", () => {
    const r = translate({ messages: [user("x")], stop_sequences: ["\n\nHuman:", "END"], temperature: 0.3, top_p: 0.9, metadata: { user_id: "u-42" } });
    expect(r).toMatchObject({ stop: ["\n\nHuman:", "END"], temperature: 0.3, top_p: 0.9, user: "u-42" });
    expect(translate({ messages: [user("x")], stop_sequences: ["a", "b", "c", "d", "e"] }).stop).toEqual(["a", "b", "c", "d"]);
  });

  test("stream:true asks for usage too; no stream means no stream fields", () => {
    expect(translate({ messages: [user("x")], stream: true })).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const r = translate({ messages: [user("x")], stream: false });
    expect("stream" in r || "stream_options" in r).toBe(false);
  });

  test("Anthropic-only fields never reach the chat request, cache_control nowhere", () => {
    const r = translate({
      system: [{ type: "text", text: "S", cache_control: { type: "ephemeral", ttl: "1h" } }],
      messages: [user([{ type: "text", text: "x", cache_control: { type: "ephemeral" }, citations: [{ type: "char_location" }] }])],
      tools: [weather],
      top_k: 5,
      thinking: { type: "enabled", budget_tokens: 1024 },
      context_management: { edits: [] },
      container: "c_1",
      mcp_servers: [{ type: "url", url: "https://mcp", name: "m" }],
      service_tier: "auto",
      betas: ["interleaved-thinking-2025-05-14"],
      anthropic_beta: ["x"],
      anthropic_version: "2023-06-01",
      output_config: { effort: "high" },
      metadata: { user_id: "u", other: 1 },
      inference_geo: "us",
    });
    expect(Object.keys(r).sort()).toEqual(["max_tokens", "messages", "model", "tools", "user"]);
    expect(JSON.stringify(r)).not.toMatch(/cache_control|citations|ephemeral|budget_tokens/);
  });
});
