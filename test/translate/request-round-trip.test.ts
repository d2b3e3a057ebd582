import { expect, test } from "bun:test";
import { chatToMessagesRequest } from "../../server/translate/chat-to-messages-request";
import { messagesToChatRequest } from "../../server/translate/messages-to-chat-request";

/** A conversation with tools said in one shape, translated there and back, says the same thing. */

test("Anthropic tool_use / tool_result → chat tool_calls / tool messages → back, unchanged", () => {
  const messages = [
    { role: "user", content: [{ type: "text", text: "Weather in Paris and Rome?" }] },
    { role: "assistant", content: [
      { type: "text", text: "Checking both." },
      { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris", units: { temp: "C" } } },
      { type: "tool_use", id: "toolu_2", name: "get_weather", input: { city: "Rome" } },
    ] },
    { role: "user", content: [
      { type: "tool_result", tool_use_id: "toolu_1", content: "18°C" },
      { type: "tool_result", tool_use_id: "toolu_2", content: "21°C" },
      { type: "text", text: "And tomorrow?" },
    ] },
  ];
  const tools = [{ name: "get_weather", description: "Weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }];
  const original = { model: "m", max_tokens: 100, system: "Be brief.", messages, tools, tool_choice: { type: "any", disable_parallel_tool_use: true }, stop_sequences: ["END"] };
  const chat = messagesToChatRequest(original, { upstreamModel: "gpt", maxTokensField: "max_tokens" });
  expect((chat.messages as any[]).map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "tool", "user"]);
  const back = chatToMessagesRequest(chat, { upstreamModel: "m", maxTokens: 100 });
  expect(back).toEqual(original);
});

test("chat tool_calls / tool messages → Anthropic → back, unchanged", () => {
  const messages = [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Weather in Paris and Rome?" },
    { role: "assistant", content: null, tool_calls: [
      { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      { id: "call_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
    ] },
    { role: "tool", tool_call_id: "call_1", content: "18°C" },
    { role: "tool", tool_call_id: "call_2", content: "21°C" },
    { role: "user", content: "And tomorrow?" },
    { role: "assistant", content: "Sunny." },
  ];
  const tools = [{ type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: {} } } }];
  const original = { model: "gpt", max_tokens: 100, messages, tools, tool_choice: { type: "function", function: { name: "get_weather" } }, stop: ["END"], temperature: 0.5, top_p: 0.9, user: "u1" };
  const anthropic = chatToMessagesRequest(original, { upstreamModel: "claude", maxTokens: 100 });
  expect((anthropic.messages as any[]).map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
  expect(messagesToChatRequest(anthropic, { upstreamModel: "gpt", maxTokensField: "max_tokens" })).toEqual(original);
});

test("images survive the round trip both ways", () => {
  const parts = [
    { type: "text", text: "Compare" },
    { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
    { type: "image_url", image_url: { url: "https://example.com/b.jpg" } },
  ];
  const original = { model: "gpt", max_tokens: 10, messages: [{ role: "user", content: parts }] };
  const there = chatToMessagesRequest(original, { upstreamModel: "claude", maxTokens: 10 });
  expect(messagesToChatRequest(there, { upstreamModel: "gpt", maxTokensField: "max_tokens" })).toEqual(original);
});
