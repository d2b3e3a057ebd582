import { recordsOf, type Json } from "./json-values";
import { finishFromStopReason } from "./stop-reasons";
import { mergeAnthropicUsage, NO_USAGE, toOpenAIUsage, usageFromAnthropic, type Usage } from "./usage";

/**
 * A non-stream Anthropic `message` as a chat.completion, for an OpenAI chat client served by an Anthropic
 * upstream. Blocks with no chat counterpart (server tool use and results, redacted thinking) are left out.
 */
export function messageResponseToChat(msg: any, clientModel: string): { chat: Record<string, unknown>; usage: Usage | null } {
  const blocks = recordsOf(msg?.content);
  const texts = blocks.filter((b) => b.type === "text" && typeof b.text === "string").map((b) => b.text as string);
  const thinking = blocks.filter((b) => b.type === "thinking" && typeof b.thinking === "string").map((b) => b.thinking as string);
  const toolCalls = blocks
    .filter((b) => b.type === "tool_use")
    .map((b) => ({ id: String(b.id ?? ""), type: "function", function: { name: String(b.name ?? ""), arguments: JSON.stringify(b.input ?? {}) } }));

  const message: Json = { role: "assistant", content: texts.length > 0 ? texts.join("") : null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (thinking.length > 0) message.reasoning_content = thinking.join("");
  // A usage with only some fields still counts; the missing ones are 0.
  const usage = mergeAnthropicUsage(null, usageFromAnthropic(msg?.usage));
  return {
    chat: {
      id: `chatcmpl-${typeof msg?.id === "string" ? msg.id : crypto.randomUUID()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: clientModel,
      choices: [{ index: 0, message, finish_reason: finishFromStopReason(msg?.stop_reason), logprobs: null }],
      usage: toOpenAIUsage(usage ?? NO_USAGE),
    },
    usage,
  };
}
