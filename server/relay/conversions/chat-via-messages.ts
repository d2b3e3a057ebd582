import { openAIStreamFraming } from "../../shapes/openai/stream-framing";
import { asOpenAIError } from "../../shapes/error-bodies";
import { chatToMessagesRequest } from "../../translate/chat-to-messages-request";
import { messageResponseToChat } from "../../translate/message-response-to-chat";
import { MessagesStreamToChat } from "../../translate/messages-stream-to-chat";
import { DEFAULT_MAX_OUTPUT_TOKENS } from "../../limits/admission";
import type { Conversion, ConversionInput } from "./types";

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** The `event:` name of a raw SSE event, or null. */
function eventName(raw: string): string | null {
  const m = /^event:\s?(.*)$/m.exec(raw);
  return m ? m[1]!.trim() : null;
}

/**
 * An OpenAI chat client on an Anthropic channel: the request becomes a Messages request (which needs an
 * output cap: the client's, the one relay holds, or the default), the answer a chat completion.
 */
export function chatViaMessages(c: ConversionInput): Conversion {
  const b = c.body;
  const json = b.format === "json" ? b.json : {};
  return {
    path: "/v1/messages",
    search: "",
    body() {
      const maxTokens = b.clientMaxOutput ?? c.injectMaxOutput ?? DEFAULT_MAX_OUTPUT_TOKENS;
      return { body: JSON.stringify(chatToMessagesRequest(json, { upstreamModel: c.upstreamModel, maxTokens })), contentType: "application/json" };
    },
    answer(bytes) {
      const { chat, usage } = messageResponseToChat(JSON.parse(utf8.decode(bytes)), c.clientModel);
      return { bytes: encoder.encode(JSON.stringify(chat)), contentType: "application/json", usage };
    },
    upstreamError(status, bytes) {
      return { bytes: asOpenAIError(status, bytes), contentType: "application/json" };
    },
    stream() {
      const t = new MessagesStreamToChat({
        clientModel: c.clientModel, chunkId: `chatcmpl-${c.requestId}`, created: Math.floor(Date.now() / 1000), includeUsage: b.clientWantsUsage,
      });
      return {
        kind: "translate",
        framing: openAIStreamFraming,
        pingEveryMs: null, // an Anthropic upstream pings by itself, and OpenAI clients need none
        translator: {
          feed: (e) => (e.data === null ? "" : t.feed(eventName(e.raw), e.data)),
          end: () => t.end(),
          fail: (_code, message) => (t.fail("upstream_error", message), ""),
          get usage() { return t.usage; },
          get done() { return t.done; },
          get generatedText() { return t.generatedText; },
        },
      };
    },
  };
}
