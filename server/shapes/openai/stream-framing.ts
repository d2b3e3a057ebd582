import type { SseEvent, StreamFraming, StreamUsage } from "../stream-framing";
import { errorCodes, type ErrorCode } from "../../errors";
import { usageFromOpenAI } from "../../translate/usage";

const encoder = new TextEncoder();
/** The OpenAI stream's last event. */
const DONE_EVENT = Buffer.from("data: [DONE]\n\n");

/**
 * The usage of an OpenAI JSON body or chunk: chat, completions, embeddings (input only), or the Responses
 * API's; cached prompt tokens apart. Null when there are no numbers.
 */
export function openAIUsageOf(obj: unknown): StreamUsage | null {
  return usageFromOpenAI((obj as { usage?: unknown } | null)?.usage);
}

/** Whether a read ends with `data: [DONE]`, after which an OpenAI stream has nothing more to say. */
function endsWithDone(bytes: Uint8Array): boolean {
  const n = bytes.length, k = DONE_EVENT.length;
  if (n < k || bytes[n - 3] !== 0x5d) return false; // "]" before the blank line: the cheap first test
  if (n > k && bytes[n - k - 1] !== 0x0a) return false;
  for (let i = 0; i < k; i++) if (bytes[n - k + i] !== DONE_EVENT[i]) return false;
  return true;
}

/**
 * OpenAI's event stream (chat, completions, the Responses API): usage at the top level of a chunk, or under
 * `response` in the Responses API's final events; with `include_usage` (which relay asks for) every chunk
 * carries `"usage":null` and a last chunk with empty `choices` the numbers; the stream ends with [DONE].
 */
export const openAIStreamFraming: StreamFraming = {
  // JSON encoders write the key compactly or with Python's default `": "`.
  usageNeedles: [Buffer.from('"usage":{'), Buffer.from('"usage": {')],
  usageIn(obj) {
    return openAIUsageOf(obj) ?? openAIUsageOf((obj as { response?: unknown } | null)?.response ?? null);
  },
  dropForClient(obj, clientWantsUsage) {
    const choices = (obj as { choices?: unknown } | null)?.choices;
    return !clientWantsUsage && Array.isArray(choices) && choices.length === 0 && openAIUsageOf(obj) !== null;
  },
  endsStream: endsWithDone,
  errorEvent(code, message) {
    const type = errorCodes[code as ErrorCode]?.[1] ?? "upstream_error";
    return encoder.encode(`data: ${JSON.stringify({ error: { message, type, code, param: null } })}\n\n`);
  },
  generatedText(events: readonly SseEvent[]) {
    const parts: string[] = [];
    for (const e of events) {
      if (e.data === null || e.data === "[DONE]") continue;
      let obj: any;
      try {
        obj = JSON.parse(e.data);
      } catch {
        continue;
      }
      for (const c of Array.isArray(obj?.choices) ? obj.choices : []) {
        const d = c?.delta ?? {};
        if (typeof d.content === "string") parts.push(d.content);
        if (typeof d.reasoning_content === "string") parts.push(d.reasoning_content);
        if (typeof c?.text === "string") parts.push(c.text);
        for (const t of Array.isArray(d.tool_calls) ? d.tool_calls : []) {
          if (typeof t?.function?.arguments === "string") parts.push(t.function.arguments);
        }
      }
      if (typeof obj?.delta === "string") parts.push(obj.delta); // the Responses API's response.output_text.delta
    }
    return parts.join("");
  },
};
