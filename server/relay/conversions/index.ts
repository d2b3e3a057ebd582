import type { ApiShape } from "../../providers/types";
import type { EndpointKind } from "../endpoint";
import type { RelayBody } from "../parse";
import { anthropicPassThrough } from "./anthropic-pass";
import { chatViaMessages } from "./chat-via-messages";
import { messagesViaChat } from "./messages-via-chat";
import { openAIPassThrough } from "./openai-pass";
import type { Conversion, ConversionInput } from "./types";

/**
 * Why a channel of this shape cannot serve the request, or null when it can. Same shape: always (pass
 * through). Across shapes only chat completions and Messages translate into each other; a count of tokens
 * on an OpenAI channel is answered by relay itself.
 */
export function unservable(kind: EndpointKind, client: ApiShape, channel: ApiShape, body: RelayBody): string | null {
  if (client === channel) return null;
  if (kind === "messages" || kind === "count_tokens") return null;
  if (kind !== "chat") return `${kind === "other" ? "this endpoint" : `/v1/${kind === "completion" ? "completions" : "embeddings"}`} is OpenAI's, and this model's channels speak Anthropic's API`;
  if (body.choices > 1) return "n > 1 cannot be translated for this model's Anthropic channels; ask for one answer";
  return null;
}

/** The conversion for a request on a channel of `channel` shape (call unservable first). */
export function conversionFor(client: ApiShape, channel: ApiShape, input: ConversionInput): Conversion {
  if (client === "openai") return channel === "openai" ? openAIPassThrough(input) : chatViaMessages(input);
  return channel === "anthropic" ? anthropicPassThrough(input) : messagesViaChat(input);
}

export type { Conversion, ConversionInput, StreamPlan, StreamTranslator } from "./types";
