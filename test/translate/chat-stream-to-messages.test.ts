import { describe, expect, test } from "bun:test";
import { ChatStreamToMessages } from "../../server/translate/chat-stream-to-messages";
import { anthropicEvents, dataEvent, expectSameUnderEveryCut, replay } from "./sse-cuts";

const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null, extra: Record<string, unknown> = {}) =>
  dataEvent({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "gpt-up", choices: [{ index: 0, delta, finish_reason }], ...extra });
const usageChunk = (usage: unknown) => dataEvent({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "gpt-up", choices: [], usage });
const toolDelta = (index: number, fields: { id?: string; name?: string; args?: string }) => ({
  tool_calls: [{ index, ...(fields.id ? { id: fields.id, type: "function" } : {}), function: { ...(fields.name ? { name: fields.name } : {}), arguments: fields.args ?? "" } }],
});
const DONE = dataEvent("[DONE]");

/** Feeds upstream SSE (cut at `cuts`) through a fresh SseSplitter and translator; returns the client's text and the translator. */
function translate(upstream: string, cuts: number[] = [], opts: { end?: boolean } = {}) {
  const t = new ChatStreamToMessages({ clientModel: "claude-client", messageId: "msg_1" });
  let out = "";
  replay(upstream, cuts, (e) => {
    if (e.data !== null) out += t.feed(e.data);
  });
  if (opts.end !== false) out += t.end();
  return { out, t };
}

describe("chat stream → Anthropic stream", () => {
  test("REQUIRED: text, then a tool call in two argument pieces, finish tool_calls, a usage chunk, [DONE]: exactly these events", () => {
    const upstream =
      chunk({ role: "assistant", content: "Hi" }) +
      chunk(toolDelta(0, { id: "call_1", name: "get_weather", args: '{"city":"Par' })) +
      chunk(toolDelta(0, { args: 'is"}' })) +
      chunk({}, "tool_calls") +
      usageChunk({ prompt_tokens: 120, completion_tokens: 30, prompt_tokens_details: { cached_tokens: 100 } }) +
      DONE;
    const out = expectSameUnderEveryCut(upstream, (cuts) => translate(upstream, cuts).out);
    expect(anthropicEvents(out)).toEqual([
      ["message_start", { type: "message_start", message: {
        id: "msg_1", type: "message", role: "assistant", content: [], model: "claude-client", stop_reason: null, stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      } }],
      ["content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }],
      ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hi" } }],
      ["content_block_stop", { type: "content_block_stop", index: 0 }],
      ["content_block_start", { type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "call_1", name: "get_weather", input: {} } }],
      ["content_block_delta", { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '{"city":"Par' } }],
      ["content_block_delta", { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: 'is"}' } }],
      ["content_block_stop", { type: "content_block_stop", index: 1 }],
      ["message_delta", { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null },
        usage: { input_tokens: 20, output_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 100 } }],
      ["message_stop", { type: "message_stop" }],
    ]);
    const joined = anthropicEvents(out).filter(([, d]) => d.delta?.type === "input_json_delta").map(([, d]) => d.delta.partial_json).join("");
    expect(JSON.parse(joined)).toEqual({ city: "Paris" });
    const { t } = translate(upstream);
    expect(t.usage).toEqual({ input: 20, cacheRead: 100, cacheWrite: 0, output: 30 });
    expect(t.done).toBe(true);
    expect(t.generatedText).toBe('Hi{"city":"Paris"}');
  });

  test("UTF-8 text and reasoning are intact whatever the read boundaries, even inside a character", () => {
    const upstream =
      chunk({ role: "assistant", content: "" }) +
      chunk({ reasoning_content: "ré" }) + chunk({ reasoning_content: "flexion ✓" }) +
      chunk({ content: "héllo " }) + chunk({ content: "✓" }, "stop") +
      usageChunk({ prompt_tokens: 9, completion_tokens: 4 }) + DONE;
    const out = expectSameUnderEveryCut(upstream, (cuts) => translate(upstream, cuts).out);
    const events = anthropicEvents(out);
    const starts = events.filter(([e]) => e === "content_block_start").map(([, d]) => [d.index, d.content_block]);
    expect(starts).toEqual([[0, { type: "thinking", thinking: "", signature: "" }], [1, { type: "text", text: "" }]]);
    const deltas = events.filter(([e]) => e === "content_block_delta").map(([, d]) => d.delta);
    expect(deltas.filter((d) => d.type === "thinking_delta").map((d) => d.thinking).join("")).toBe("réflexion ✓");
    expect(deltas.filter((d) => d.type === "text_delta").map((d) => d.text).join("")).toBe("héllo ✓");
    expect(events.filter(([e]) => e === "message_start").length).toBe(1);
    expect(events.at(-2)![1]).toMatchObject({ delta: { stop_reason: "end_turn" }, usage: { input_tokens: 9, output_tokens: 4 } });
  });

  test("quirks: tool_calls: [] beside content, usage: null, no choices, a non-JSON line; content in the finish chunk comes first", () => {
    const upstream =
      dataEvent({ id: "x", object: "chat.completion.chunk", choices: [] }) +
      dataEvent("not json") +
      chunk({ content: "a", tool_calls: [] }, null, { usage: null }) +
      dataEvent({ id: "x" }) +
      chunk({ content: "b" }, "length") +
      DONE;
    const events = anthropicEvents(translate(upstream).out);
    expect(events.map(([e]) => e)).toEqual(["message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    expect(events.filter(([e]) => e === "content_block_delta").map(([, d]) => d.delta.text)).toEqual(["a", "b"]);
    expect(events[5]![1].delta.stop_reason).toBe("max_tokens");
    expect(translate(upstream).t.usage).toBeNull();
  });

  test("parallel tool calls are separate blocks; a fragment of a closed call does not reopen it", () => {
    const upstream =
      chunk(toolDelta(0, { id: "call_a", name: "f", args: '{"x":' })) + chunk(toolDelta(0, { args: "1}" })) +
      chunk(toolDelta(1, { id: "call_b", name: "g", args: "{}" })) +
      chunk(toolDelta(0, { args: "late" })) +
      chunk({}, "tool_calls") + DONE;
    const events = anthropicEvents(translate(upstream).out);
    const starts = events.filter(([e]) => e === "content_block_start").map(([, d]) => [d.index, d.content_block.id, d.content_block.name]);
    expect(starts).toEqual([[0, "call_a", "f"], [1, "call_b", "g"]]);
    const args = (i: number) => events.filter(([e, d]) => e === "content_block_delta" && d.index === i).map(([, d]) => d.delta.partial_json).join("");
    expect([args(0), args(1)]).toEqual(['{"x":1}', "{}"]);
    expect(events.filter(([e]) => e === "content_block_stop").map(([, d]) => d.index)).toEqual([0, 1]);
  });

  test("an upstream that sends every call under index 0 with a new id gets a block per call; a call with no id gets one made", () => {
    const upstream =
      chunk(toolDelta(0, { id: "call_a", name: "f", args: "{}" })) + chunk(toolDelta(0, { id: "call_b", name: "g", args: "{}" })) +
      chunk({ content: "then text" }) + chunk(toolDelta(2, { name: "h", args: "{}" })) + DONE;
    const starts = anthropicEvents(translate(upstream).out).filter(([e]) => e === "content_block_start").map(([, d]) => d.content_block);
    expect(starts).toEqual([
      { type: "tool_use", id: "call_a", name: "f", input: {} },
      { type: "tool_use", id: "call_b", name: "g", input: {} },
      { type: "text", text: "" },
      { type: "tool_use", id: "toolu_1_3", name: "h", input: {} },
    ]);
  });

  test("a stream that ends without [DONE]: end() closes the open block and the message, once", () => {
    const upstream = chunk({ content: "par" }) + chunk({ content: "tial" }, "stop");
    const { out, t } = translate(upstream, [], { end: false });
    expect(out).not.toContain("message_stop");
    expect(t.done).toBe(false);
    const closing = t.end();
    expect(anthropicEvents(closing).map(([e, d]) => [e, d.delta?.stop_reason])).toEqual([["content_block_stop", undefined], ["message_delta", "end_turn"], ["message_stop", undefined]]);
    expect(t.done).toBe(true);
    expect(t.end()).toBe("");
    expect(t.feed(DONE.slice(6, -2))).toBe("");
  });

  test("[DONE] closes the stream; end() after it owes nothing; a stream of nothing still opens and closes", () => {
    const { out, t } = translate(chunk({ content: "x" }) + DONE, [], { end: false });
    expect(out).toContain("event: message_stop");
    expect(t.end()).toBe("");
    const empty = new ChatStreamToMessages({ clientModel: "c", messageId: "msg_e" });
    expect(anthropicEvents(empty.end()).map(([e]) => e)).toEqual(["message_start", "message_delta", "message_stop"]);
  });

  test("fail() mid-stream sends one error event and nothing after it", () => {
    const { out, t } = translate(chunk({ content: "half" }), [], { end: false });
    const err = t.fail("overloaded_error", "Upstream went away");
    expect(anthropicEvents(out + err).at(-1)).toEqual(["error", { type: "error", error: { type: "overloaded_error", message: "Upstream went away" } }]);
    expect(t.done).toBe(true);
    expect(t.feed(JSON.stringify({ choices: [{ index: 0, delta: { content: "more" } }] }))).toBe("");
    expect(t.end()).toBe("");
    expect(t.fail("api_error", "again")).toBe("");
    expect(t.generatedText).toBe("half");
  });

  test("an upstream error chunk mid-stream becomes the error event", () => {
    const upstream = chunk({ content: "a" }) + dataEvent({ error: { message: "rate limited", type: "rate_limit_error" } }) + chunk({ content: "b" });
    const { out, t } = translate(upstream, [], { end: false });
    expect(anthropicEvents(out).at(-1)).toEqual(["error", { type: "error", error: { type: "rate_limit_error", message: "rate limited" } }]);
    expect(t.done).toBe(true);
  });

  test("the Anthropic SDK reads the translated stream into the message the upstream meant", async () => {
    const { default: Anthropic } = await import("@anthropic-ai/sdk");
    const upstream =
      chunk({ reasoning_content: "Think." }) + chunk({ content: "héllo ✓" }) +
      chunk(toolDelta(0, { id: "call_1", name: "get_weather", args: '{"city":"Par' })) + chunk(toolDelta(0, { args: 'is"}' })) +
      chunk({}, "tool_calls") + usageChunk({ prompt_tokens: 120, completion_tokens: 30, prompt_tokens_details: { cached_tokens: 100 } }) + DONE;
    const body = translate(upstream).out;
    const client = new Anthropic({ apiKey: "k", baseURL: "http://relay.invalid", maxRetries: 0,
      fetch: async () => new Response(body, { headers: { "content-type": "text/event-stream" } }) });
    const final = await client.messages.stream({ model: "claude-client", max_tokens: 10, messages: [{ role: "user", content: "x" }] }).finalMessage();
    expect(final.content).toEqual([
      { type: "thinking", thinking: "Think.", signature: "" },
      { type: "text", text: "héllo ✓" } as never,
      { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } } as never,
    ]);
    expect(final.stop_reason).toBe("tool_use");
    expect(final.usage).toMatchObject({ input_tokens: 20, output_tokens: 30, cache_read_input_tokens: 100 });
  });
});
