import { isRecord, parseArguments, recordsOf, type Json } from "./json-values";
import { stopReasonFromFinish } from "./stop-reasons";
import { NO_USAGE, toAnthropicUsage, usageFromOpenAI, type Usage } from "./usage";

/**
 * A non-stream chat.completion as an Anthropic `message`, for an Anthropic client served by a chat upstream.
 * `usage` is returned apart too, normalised, for billing.
 */
export function chatResponseToMessage(chat: any, clientModel: string): { message: Record<string, unknown>; usage: Usage | null } {
  const choice = recordsOf(chat?.choices)[0] ?? {};
  const msg = isRecord(choice.message) ? choice.message : {};
  const content: Json[] = [];
  const reasoning = reasoningOf(msg);
  if (reasoning) content.push({ type: "thinking", thinking: reasoning, signature: "" });
  // A refusal is what the model said instead of content; the client should see it.
  const text = typeof msg.content === "string" && msg.content ? msg.content : typeof msg.refusal === "string" ? msg.refusal : "";
  if (text) content.push({ type: "text", text });
  for (const call of recordsOf(msg.tool_calls)) {
    const fn = isRecord(call.function) ? call.function : {};
    content.push({ type: "tool_use", id: String(call.id ?? ""), name: String(fn.name ?? ""), input: parseArguments(fn.arguments) });
  }
  const usage = usageFromOpenAI(chat?.usage);
  const id = typeof chat?.id === "string" && chat.id ? chat.id : crypto.randomUUID().replaceAll("-", "");
  return {
    message: {
      id: `msg_${id}`,
      type: "message",
      role: "assistant",
      model: clientModel,
      content,
      stop_reason: stopReasonFromFinish(choice.finish_reason),
      stop_sequence: null,
      usage: toAnthropicUsage(usage ?? NO_USAGE),
    },
    usage,
  };
}

/**
 * The model's reasoning: `reasoning_content` (DeepSeek, Qwen, vLLM before 0.10) or `reasoning`
 * (OpenRouter, newer vLLM), the same thing under two names.
 */
export function reasoningOf(m: Json): string {
  if (typeof m.reasoning_content === "string" && m.reasoning_content) return m.reasoning_content;
  return typeof m.reasoning === "string" ? m.reasoning : "";
}
