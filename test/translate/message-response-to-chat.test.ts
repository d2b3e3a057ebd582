import { describe, expect, setSystemTime, test } from "bun:test";
import { messageResponseToChat } from "../../server/translate/message-response-to-chat";

const message = (content: unknown[], stop_reason: string | null = "end_turn", usage: unknown = { input_tokens: 20, output_tokens: 30, cache_creation_input_tokens: 5, cache_read_input_tokens: 100 }) => ({
  id: "msg_01", type: "message", role: "assistant", model: "claude-up", content, stop_reason, stop_sequence: null, usage,
});

describe("Anthropic message → chat.completion", () => {
  test("text blocks joined; id, object, created, the client's model; usage counts cache reads and writes in prompt_tokens", () => {
    setSystemTime(new Date(1_700_000_000_500));
    try {
      const { chat, usage } = messageResponseToChat(message([{ type: "text", text: "Hel", citations: [] }, { type: "text", text: "lo" }]), "gpt-client");
      expect(chat).toEqual({
        id: "chatcmpl-msg_01", object: "chat.completion", created: 1_700_000_000, model: "gpt-client",
        choices: [{ index: 0, message: { role: "assistant", content: "Hello" }, finish_reason: "stop", logprobs: null }],
        usage: { prompt_tokens: 125, completion_tokens: 30, total_tokens: 155, prompt_tokens_details: { cached_tokens: 100 } },
      });
      expect(usage).toEqual({ input: 20, cacheRead: 100, cacheWrite: 5, output: 30 });
    } finally {
      setSystemTime();
    }
  });

  test("tool_use blocks → tool_calls with JSON arguments; no text → content null; finish_reason tool_calls", () => {
    const { chat } = messageResponseToChat(message([
      { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
      { type: "tool_use", id: "toolu_2", name: "noop", input: {} },
    ], "tool_use"), "g");
    expect((chat as any).choices[0]).toEqual({
      index: 0, logprobs: null, finish_reason: "tool_calls",
      message: { role: "assistant", content: null, tool_calls: [
        { id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
        { id: "toolu_2", type: "function", function: { name: "noop", arguments: "{}" } },
      ] },
    });
  });

  test("thinking → reasoning_content; redacted thinking and server tool blocks left out", () => {
    const { chat } = messageResponseToChat(message([
      { type: "thinking", thinking: "First, ", signature: "s1" },
      { type: "redacted_thinking", data: "xx" },
      { type: "server_tool_use", id: "srv", name: "web_search", input: { query: "q" } },
      { type: "web_search_tool_result", tool_use_id: "srv", content: [] },
      { type: "thinking", thinking: "then.", signature: "s2" },
      { type: "text", text: "Answer" },
    ]), "g");
    expect((chat as any).choices[0].message).toEqual({ role: "assistant", content: "Answer", reasoning_content: "First, then." });
  });

  test("stop reasons: max_tokens → length, refusal → content_filter, stop_sequence / pause_turn → stop", () => {
    const finish = (s: string) => (messageResponseToChat(message([{ type: "text", text: "x" }], s), "g").chat as any).choices[0].finish_reason;
    expect([finish("max_tokens"), finish("refusal"), finish("stop_sequence"), finish("pause_turn")]).toEqual(["length", "content_filter", "stop", "stop"]);
  });

  test("no usage: zeros in the chat, null for billing", () => {
    const { chat, usage } = messageResponseToChat(message([], "end_turn", null), "g");
    expect(usage).toBeNull();
    expect((chat as any).usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, prompt_tokens_details: { cached_tokens: 0 } });
    expect((chat as any).choices[0].message).toEqual({ role: "assistant", content: null });
  });
});
