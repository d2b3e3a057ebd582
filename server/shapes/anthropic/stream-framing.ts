import type { SseEvent, StreamFraming } from "../stream-framing";
import { mergeAnthropicUsage, usageFromAnthropic } from "../../translate/usage";
import { anthropicErrorBody } from "./errors";

const encoder = new TextEncoder();
const BLANK = Buffer.from("\n\n");
const MESSAGE_STOP = Buffer.from("message_stop");
const lastIndexOf = (bytes: Uint8Array, what: Uint8Array, from: number): number => Buffer.prototype.lastIndexOf.call(bytes, what, from);
const indexOf = (bytes: Uint8Array, what: Uint8Array, from: number): number => Buffer.prototype.indexOf.call(bytes, what, from);

/**
 * Anthropic's Messages stream: `message_start.message.usage` gives the input and cache tokens,
 * `message_delta.usage.output_tokens` the output so far (cumulative: the last value is billed, never the
 * sum); the stream ends with `message_stop`. Relay adds nothing to it, so nothing is dropped.
 */
export const anthropicStreamFraming: StreamFraming = {
  usageNeedles: [Buffer.from('"usage":{'), Buffer.from('"usage": {')],
  usageIn(obj, before) {
    const o = obj as { type?: string; message?: { usage?: unknown }; usage?: unknown } | null;
    if (o?.type === "message_start") return mergeAnthropicUsage(before, usageFromAnthropic(o.message?.usage));
    if (o?.type === "message_delta") return mergeAnthropicUsage(before, usageFromAnthropic(o.usage));
    return null;
  },
  dropForClient() {
    return false;
  },
  endsStream(bytes) {
    const n = bytes.length;
    if (n < 20) return false;
    const prev = lastIndexOf(bytes, BLANK, n - 3);
    return indexOf(bytes, MESSAGE_STOP, prev === -1 ? 0 : prev) !== -1;
  },
  errorEvent(code, message, status) {
    const { error } = anthropicErrorBody(status, code, message, "");
    return encoder.encode(`event: error\ndata: ${JSON.stringify({ type: "error", error })}\n\n`);
  },
  generatedText(events: readonly SseEvent[]) {
    const parts: string[] = [];
    for (const e of events) {
      if (e.data === null) continue;
      let obj: any;
      try {
        obj = JSON.parse(e.data);
      } catch {
        continue;
      }
      const d = obj?.type === "content_block_delta" ? obj.delta : null;
      if (typeof d?.text === "string") parts.push(d.text);
      if (typeof d?.thinking === "string") parts.push(d.thinking);
      if (typeof d?.partial_json === "string") parts.push(d.partial_json);
    }
    return parts.join("");
  },
};
