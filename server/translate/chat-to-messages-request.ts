import { messagesToolFields } from "./chat-tools-to-messages";
import { messagesOfChat } from "./chat-turns-to-messages";
import type { Json } from "./json-values";

/**
 * An OpenAI chat request as an Anthropic Messages request, for an OpenAI chat client whose model only
 * Anthropic channels serve. Built field by field, so nothing OpenAI-only (n, logprobs, response_format,
 * seed, penalties, stream_options, …) can reach the upstream and turn into a 400.
 */
export function chatToMessagesRequest(body: Record<string, unknown>, opts: { upstreamModel: string; maxTokens: number }): Record<string, unknown> {
  const { system, messages } = messagesOfChat(body.messages);
  // max_tokens is required by Anthropic and decided by the relay (the client's cap and the model's limit).
  const out: Json = { model: opts.upstreamModel, max_tokens: opts.maxTokens, messages };
  if (system) out.system = system;
  // OpenAI's range is [0, 2], Anthropic's [0, 1].
  if (typeof body.temperature === "number") out.temperature = Math.min(1, Math.max(0, body.temperature));
  if (typeof body.top_p === "number") out.top_p = body.top_p;
  const stop = (typeof body.stop === "string" ? [body.stop] : Array.isArray(body.stop) ? body.stop : []).filter(
    // Anthropic rejects stop sequences that are only whitespace.
    (s): s is string => typeof s === "string" && s.trim().length > 0,
  );
  if (stop.length > 0) out.stop_sequences = stop;
  if (typeof body.user === "string" && body.user) out.metadata = { user_id: body.user };
  if (typeof body.stream === "boolean") out.stream = body.stream;
  Object.assign(out, messagesToolFields(body));
  return out;
}
