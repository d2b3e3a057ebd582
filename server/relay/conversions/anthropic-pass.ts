import { anthropicStreamFraming } from "../../shapes/anthropic/stream-framing";
import { mergeAnthropicUsage, usageFromAnthropic } from "../../translate/usage";
import { modelRewriter } from "../model-name";
import type { Conversion, ConversionInput } from "./types";
import { passAnswer } from "./pass-answer";

/**
 * An Anthropic client on an Anthropic channel: the body is forwarded as it came with only the model id
 * replaced, so `system` arrays, `cache_control`, `thinking`, `context_management`, tool `strict` and any
 * beta field pass through untouched.
 */
export function anthropicPassThrough(c: ConversionInput): Conversion {
  const rewrite = modelRewriter(c.clientModel, c.upstreamModel);
  return {
    path: c.path,
    search: c.search,
    body() {
      if (c.body.format !== "json") return { body: null, contentType: null };
      return { body: JSON.stringify({ ...c.body.json, model: c.upstreamModel }), contentType: "application/json" };
    },
    answer(bytes, contentType) {
      return passAnswer(bytes, contentType, (json) => mergeAnthropicUsage(null, usageFromAnthropic((json as { usage?: unknown } | null)?.usage)), rewrite);
    },
    upstreamError(_status, bytes, contentType) {
      return { bytes, contentType };
    },
    stream() {
      return { kind: "pass", framing: anthropicStreamFraming, rewrite };
    },
  };
}
