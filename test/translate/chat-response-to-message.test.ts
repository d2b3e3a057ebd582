import { describe, expect, test } from "bun:test";
import { chatResponseToMessage } from "../../server/translate/chat-response-to-message";

const completion = (message: Record<string, unknown>, finish_reason: string | null = "stop", usage: unknown = undefined) => ({
  id: "chatcmpl-abc", object: "chat.completion", created: 1, model: "gpt-up",
  choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason, logprobs: null }],
  ...(usage === undefined ? {} : { usage }),
});

describe("chat.completion → Anthropic message", () => {
  test("text, with cached usage; the client's model name", () => {
    const { message, usage } = chatResponseToMessage(
      completion({ content: "Hello" }, "stop", { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 } }),
      "claude-client",
    );
    expect(message).toEqual({
      id: "msg_chatcmpl-abc", type: "message", role: "assistant", model: "claude-client",
      content: [{ type: "text", text: "Hello" }], stop_reason: "end_turn", stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 100 },
    });
    expect(usage).toEqual({ input: 20, cacheRead: 100, cacheWrite: 0, output: 30 });
  });

  test("reasoning, text and tool calls, in that order; stop_reason tool_use", () => {
    const { message } = chatResponseToMessage(completion({
      reasoning_content: "Need the weather.",
      content: "Let me check.",
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
        { id: "call_2", type: "function", function: { name: "get_time", arguments: "not json" } },
      ],
    }, "tool_calls"), "c");
    expect(message.content).toEqual([
      { type: "thinking", thinking: "Need the weather.", signature: "" },
      { type: "text", text: "Let me check." },
      { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
      { type: "tool_use", id: "call_2", name: "get_time", input: {} },
    ]);
    expect(message.stop_reason).toBe("tool_use");
  });

  test("`reasoning` (OpenRouter, newer vLLM) is reasoning too; empty content makes no text block", () => {
    const { message } = chatResponseToMessage(completion({ reasoning: "hm", content: "" }), "c");
    expect(message.content).toEqual([{ type: "thinking", thinking: "hm", signature: "" }]);
    expect(chatResponseToMessage(completion({ content: null }), "c").message.content).toEqual([]);
  });

  test("a refusal is shown as text, with stop_reason refusal for content_filter", () => {
    const { message } = chatResponseToMessage(completion({ content: null, refusal: "I can't help with that." }, "content_filter"), "c");
    expect(message.content).toEqual([{ type: "text", text: "I can't help with that." }]);
    expect(message.stop_reason).toBe("refusal");
  });

  test("stop reasons: length → max_tokens, missing → end_turn", () => {
    expect(chatResponseToMessage(completion({ content: "x" }, "length"), "c").message.stop_reason).toBe("max_tokens");
    expect(chatResponseToMessage(completion({ content: "x" }, null), "c").message.stop_reason).toBe("end_turn");
  });

  test("no usage: zeros in the message, null for billing; no id: one is made", () => {
    const { message, usage } = chatResponseToMessage({ choices: [{ message: { content: "x" }, finish_reason: "stop" }] }, "c");
    expect(usage).toBeNull();
    expect(message.usage).toEqual({ input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(message.id).toMatch(/^msg_[0-9a-f]{32}$/);
  });

  test("garbage in: an empty message, not a throw", () => {
    for (const junk of [null, {}, { choices: "x" }, { choices: [null] }]) {
      expect(chatResponseToMessage(junk, "c").message).toMatchObject({ content: [], stop_reason: "end_turn" });
    }
  });
});
