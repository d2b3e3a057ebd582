import { describe, expect, test } from "bun:test";
import { MessagesStreamToChat } from "../../server/translate/messages-stream-to-chat";
import { eventNameOf, expectSameUnderEveryCut, namedEvent, openaiPayloads, replay } from "./sse-cuts";

const start = (usage: Record<string, number> = { input_tokens: 20, output_tokens: 1, cache_creation_input_tokens: 5, cache_read_input_tokens: 100 }) =>
  namedEvent({ type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", content: [], model: "claude-up", stop_reason: null, stop_sequence: null, usage } });
const blockStart = (index: number, content_block: Record<string, unknown>) => namedEvent({ type: "content_block_start", index, content_block });
const blockDelta = (index: number, delta: Record<string, unknown>) => namedEvent({ type: "content_block_delta", index, delta });
const blockStop = (index: number) => namedEvent({ type: "content_block_stop", index });
const messageDelta = (stop_reason: string, usage: Record<string, unknown> = { output_tokens: 30 }) =>
  namedEvent({ type: "message_delta", delta: { stop_reason, stop_sequence: null }, usage });
const stop = namedEvent({ type: "message_stop" });
const ping = namedEvent({ type: "ping" });

function translate(upstream: string, cuts: number[] = [], opts: { includeUsage?: boolean; end?: boolean } = {}) {
  const t = new MessagesStreamToChat({ clientModel: "gpt-client", chunkId: "chatcmpl-1", created: 1700000000, includeUsage: opts.includeUsage ?? true });
  let out = "";
  replay(upstream, cuts, (e) => {
    if (e.data !== null) out += t.feed(eventNameOf(e.raw), e.data);
  });
  if (opts.end !== false) out += t.end();
  return { out, t };
}

const envelope = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1700000000, model: "gpt-client" };
const delta = (d: Record<string, unknown>, finish_reason: string | null = null) => ({ ...envelope, choices: [{ index: 0, delta: d, finish_reason, logprobs: null }] });

describe("Anthropic stream → chat stream", () => {
  const upstream =
    start() + ping +
    blockStart(0, { type: "thinking", thinking: "", signature: "" }) +
    blockDelta(0, { type: "thinking_delta", thinking: "ré" }) + blockDelta(0, { type: "thinking_delta", thinking: "flexion" }) +
    blockDelta(0, { type: "signature_delta", signature: "EqQB" }) + blockStop(0) +
    blockStart(1, { type: "text", text: "" }) +
    blockDelta(1, { type: "text_delta", text: "héllo " }) + blockDelta(1, { type: "text_delta", text: "✓" }) + blockStop(1) +
    blockStart(2, { type: "tool_use", id: "toolu_1", name: "get_weather", input: {} }) +
    blockDelta(2, { type: "input_json_delta", partial_json: "" }) +
    blockDelta(2, { type: "input_json_delta", partial_json: '{"city":"Par' }) + blockDelta(2, { type: "input_json_delta", partial_json: 'is"}' }) +
    blockStop(2) + ping +
    messageDelta("tool_use") + stop;

  test("every event, exactly, whatever the read boundaries (even inside a UTF-8 character)", () => {
    const out = expectSameUnderEveryCut(upstream, (cuts) => translate(upstream, cuts).out);
    expect(openaiPayloads(out)).toEqual([
      delta({ role: "assistant", content: "" }),
      delta({ reasoning_content: "ré" }),
      delta({ reasoning_content: "flexion" }),
      delta({ content: "héllo " }),
      delta({ content: "✓" }),
      delta({ tool_calls: [{ index: 0, id: "toolu_1", type: "function", function: { name: "get_weather", arguments: "" } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Par' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: 'is"}' } }] }),
      delta({}, "tool_calls"),
      { ...envelope, choices: [], usage: { prompt_tokens: 125, completion_tokens: 30, total_tokens: 155, prompt_tokens_details: { cached_tokens: 100 } } },
      "[DONE]",
    ]);
    const { t } = translate(upstream);
    expect(t.usage).toEqual({ input: 20, cacheRead: 100, cacheWrite: 5, output: 30 });
    expect(t.done).toBe(true);
    expect(t.generatedText).toBe('réflexionhéllo ✓{"city":"Paris"}');
  });

  test("no usage chunk when the client did not ask for it; [DONE] still ends the stream", () => {
    const payloads = openaiPayloads(translate(upstream, [], { includeUsage: false }).out);
    expect(payloads.some((p) => p !== "[DONE]" && p.usage)).toBe(false);
    expect(payloads.slice(-2)).toEqual([delta({}, "tool_calls"), "[DONE]"]);
  });

  test("tool-call indices count tool_use blocks only; server tool blocks and their deltas are left out", () => {
    const up =
      start() +
      blockStart(0, { type: "server_tool_use", id: "srv_1", name: "web_search", input: {} }) +
      blockDelta(0, { type: "input_json_delta", partial_json: '{"query":"x"}' }) + blockStop(0) +
      blockStart(1, { type: "web_search_tool_result", tool_use_id: "srv_1", content: [] }) + blockStop(1) +
      blockStart(2, { type: "tool_use", id: "toolu_a", name: "f", input: {} }) + blockDelta(2, { type: "input_json_delta", partial_json: "{}" }) + blockStop(2) +
      blockStart(3, { type: "text", text: "" }) + blockDelta(3, { type: "text_delta", text: "and" }) + blockDelta(3, { type: "citations_delta", citation: {} }) + blockStop(3) +
      blockStart(4, { type: "tool_use", id: "toolu_b", name: "g", input: {} }) + blockDelta(4, { type: "input_json_delta", partial_json: '{"y":2}' }) + blockStop(4) +
      messageDelta("tool_use") + stop;
    const calls = openaiPayloads(translate(up).out).flatMap((p) => (p === "[DONE]" ? [] : (p.choices[0]?.delta.tool_calls ?? [])));
    expect(calls).toEqual([
      { index: 0, id: "toolu_a", type: "function", function: { name: "f", arguments: "" } },
      { index: 0, function: { arguments: "{}" } },
      { index: 1, id: "toolu_b", type: "function", function: { name: "g", arguments: "" } },
      { index: 1, function: { arguments: '{"y":2}' } },
    ]);
    expect(translate(up).t.generatedText).toBe('{}and{"y":2}');
  });

  test("stop reasons: end_turn → stop, max_tokens → length, refusal → content_filter", () => {
    const finish = (s: string) => openaiPayloads(translate(start() + messageDelta(s) + stop).out).find((p) => p !== "[DONE]" && p.choices[0]?.finish_reason)?.choices[0].finish_reason;
    expect([finish("end_turn"), finish("max_tokens"), finish("refusal")]).toEqual(["stop", "length", "content_filter"]);
  });

  test("message_delta's usage is cumulative: the last output_tokens wins, later input counts replace earlier ones", () => {
    const up = start({ input_tokens: 10, output_tokens: 1 }) + messageDelta("end_turn", { output_tokens: 7 }) + messageDelta("end_turn", { output_tokens: 9, input_tokens: 12 }) + stop;
    const { out, t } = translate(up);
    expect(t.usage).toEqual({ input: 12, cacheRead: 0, cacheWrite: 0, output: 9 });
    expect(openaiPayloads(out).filter((p) => p !== "[DONE]" && p.choices[0]?.finish_reason).length).toBe(1);
  });

  test("the event type comes from the data, or the `event:` name when the data has none", () => {
    const t = new MessagesStreamToChat({ clientModel: "gpt-client", chunkId: "chatcmpl-1", created: 1700000000, includeUsage: false });
    expect(openaiPayloads(t.feed("content_block_delta", JSON.stringify({ index: 0, delta: { type: "text_delta", text: "x" } })))).toEqual([delta({ role: "assistant", content: "" })]);
    expect(openaiPayloads(t.feed("message_stop", "{}"))).toEqual([delta({}, "stop"), "[DONE]"]);
  });

  test("a stream that ends without message_stop: end() sends the finish, usage and [DONE], once", () => {
    const { out, t } = translate(start() + blockStart(0, { type: "text", text: "" }) + blockDelta(0, { type: "text_delta", text: "cut" }), [], { end: false });
    expect(out).not.toContain("[DONE]");
    expect(t.done).toBe(false);
    const closing = openaiPayloads(t.end());
    expect(closing).toEqual([
      delta({}, "stop"),
      { ...envelope, choices: [], usage: { prompt_tokens: 125, completion_tokens: 1, total_tokens: 126, prompt_tokens_details: { cached_tokens: 100 } } },
      "[DONE]",
    ]);
    expect(t.done).toBe(true);
    expect(t.end()).toBe("");
  });

  test("fail() mid-stream sends one OpenAI error event and nothing after it", () => {
    const { out, t } = translate(start() + blockStart(0, { type: "text", text: "" }) + blockDelta(0, { type: "text_delta", text: "half" }), [], { end: false });
    const err = t.fail("upstream_error", "Upstream went away");
    expect(openaiPayloads(out + err).at(-1)).toEqual({ error: { message: "Upstream went away", type: "upstream_error", param: null, code: null } });
    expect(t.done).toBe(true);
    expect(t.feed("message_stop", '{"type":"message_stop"}')).toBe("");
    expect(t.end()).toBe("");
  });

  test("an upstream `error` event becomes the error event; ping and non-JSON are ignored", () => {
    const up = start() + ping + "event: ping\ndata: not json\n\n" + namedEvent({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }) + stop;
    const { out, t } = translate(up, [], { end: false });
    expect(openaiPayloads(out)).toEqual([delta({ role: "assistant", content: "" }), { error: { message: "Overloaded", type: "overloaded_error", param: null, code: null } }]);
    expect(t.done).toBe(true);
  });

  test("the openai SDK reads the translated stream into the completion the upstream meant", async () => {
    const { default: OpenAI } = await import("openai");
    const body = translate(upstream).out;
    const client = new OpenAI({ apiKey: "k", baseURL: "http://relay.invalid/v1", maxRetries: 0,
      fetch: async () => new Response(body, { headers: { "content-type": "text/event-stream" } }) });
    const final = await client.chat.completions.stream({ model: "gpt-client", messages: [{ role: "user", content: "x" }] }).finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe("héllo ✓");
    expect(final.choices[0]!.message.tool_calls).toEqual([{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] as never);
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expect(final.usage).toMatchObject({ prompt_tokens: 125, completion_tokens: 30 });
  });
});
