import { chatMessagesOfTurn, textOfBlocks } from "./anthropic-turn-to-chat";
import { chatToolFields } from "./anthropic-tools-to-chat";
import { isRecord, recordsOf, type Json } from "./json-values";

/**
 * An Anthropic Messages request as an OpenAI chat request, for an Anthropic-shaped client (Claude Code,
 * @anthropic-ai/sdk) whose model only OpenAI-type channels serve. The chat request is built field by field
 * from what the chat API knows, so nothing Anthropic-only (top_k, thinking, cache_control, betas, …) can
 * reach the upstream and turn into a 400.
 */
export function messagesToChatRequest(
  body: Record<string, unknown>,
  opts: { upstreamModel: string; maxTokensField: "max_tokens" | "max_completion_tokens" },
): Record<string, unknown> {
  const messages: Json[] = [];
  const system = textOfBlocks(body.system);
  if (system) messages.push({ role: "system", content: system });
  for (const turn of recordsOf(body.messages)) messages.push(...chatMessagesOfTurn(turn));

  const out: Json = { model: opts.upstreamModel, messages };
  if (typeof body.max_tokens === "number") out[opts.maxTokensField] = body.max_tokens;
  if (typeof body.temperature === "number") out.temperature = body.temperature;
  if (typeof body.top_p === "number") out.top_p = body.top_p;
  const stop = Array.isArray(body.stop_sequences) ? body.stop_sequences.filter((s) => typeof s === "string") : [];
  // The chat API takes at most 4 stop sequences; more would be a 400, so the first 4 are kept.
  if (stop.length > 0) out.stop = stop.slice(0, 4);
  if (body.stream === true) {
    out.stream = true;
    // Without it a chat upstream streams no usage, and the relay would have to estimate the bill.
    out.stream_options = { include_usage: true };
  }
  if (isRecord(body.metadata) && typeof body.metadata.user_id === "string") out.user = body.metadata.user_id;
  Object.assign(out, chatToolFields(body));
  return out;
}
