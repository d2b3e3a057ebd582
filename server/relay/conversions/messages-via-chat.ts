import { anthropicStreamFraming } from "../../shapes/anthropic/stream-framing";
import { asAnthropicError } from "../../shapes/error-bodies";
import { chatResponseToMessage } from "../../translate/chat-response-to-message";
import { ChatStreamToMessages } from "../../translate/chat-stream-to-messages";
import { messagesToChatRequest } from "../../translate/messages-to-chat-request";
import { maxTokensFieldFor, refusesMaxTokensField, type MaxTokensField } from "./max-tokens-field";
import type { Conversion, ConversionInput } from "./types";

const utf8 = new TextDecoder();
const encoder = new TextEncoder();


/**
 * An Anthropic Messages client on an OpenAI-compatible channel: the request becomes a chat completion,
 * the answer (whole or streamed) a Message. Anthropic-only fields are dropped, never forwarded into a 400.
 */
export function messagesViaChat(c: ConversionInput): Conversion {
  const json = c.body.format === "json" ? c.body.json : {};
  let field: MaxTokensField = maxTokensFieldFor({}, c.upstreamModel);
  return {
    path: "/v1/chat/completions",
    search: "",
    body() {
      return { body: JSON.stringify(messagesToChatRequest(json, { upstreamModel: c.upstreamModel, maxTokensField: field })), contentType: "application/json" };
    },
    answer(bytes) {
      const { message, usage } = chatResponseToMessage(JSON.parse(utf8.decode(bytes)), c.clientModel);
      return { bytes: encoder.encode(JSON.stringify(message)), contentType: "application/json", usage };
    },
    upstreamError(status, bytes) {
      return { bytes: asAnthropicError(status, bytes, c.requestId), contentType: "application/json" };
    },
    stream() {
      const t = new ChatStreamToMessages({ clientModel: c.clientModel, messageId: `msg_${c.requestId}` });
      return {
        kind: "translate",
        framing: anthropicStreamFraming,
        // Claude Code gives up after 5 minutes without a byte; a translated upstream that thinks long sends none.
        pingEveryMs: c.pingEveryMs,
        translator: {
          feed: (e) => (e.data === null ? "" : t.feed(e.data)),
          end: () => t.end(),
          fail: (_code, message) => (t.fail("api_error", message), ""),
          get usage() { return t.usage; },
          get done() { return t.done; },
          get generatedText() { return t.generatedText; },
        },
      };
    },
    switchMaxTokensField(text) {
      if (!refusesMaxTokensField(text, field)) return false;
      field = field === "max_tokens" ? "max_completion_tokens" : "max_tokens";
      return true;
    },
  };
}
