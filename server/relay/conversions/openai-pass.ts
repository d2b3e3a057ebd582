import { openAIStreamFraming, openAIUsageOf } from "../../shapes/openai/stream-framing";
import { modelRewriter } from "../model-name";
import { maxTokensFieldFor, refusesMaxTokensField, type MaxTokensField } from "./max-tokens-field";
import type { Conversion, ConversionInput } from "./types";
import { passAnswer } from "./pass-answer";

/** An OpenAI-shaped client on an OpenAI-compatible channel (openai, azure): the body as it came, model id replaced. */
export function openAIPassThrough(c: ConversionInput): Conversion {
  const b = c.body;
  const rewrite = modelRewriter(c.clientModel, c.upstreamModel);
  let field: MaxTokensField | null = b.format === "json" ? maxTokensFieldFor(b.json, c.upstreamModel) : null;
  const injects = () => c.injectMaxOutput !== null && (c.kind === "chat" || c.kind === "completion");
  return {
    path: c.path,
    search: c.search,
    body() {
      if (b.format === "none") return { body: null, contentType: null };
      if (b.format === "form") {
        if (c.upstreamModel !== c.clientModel) b.form.set("model", c.upstreamModel);
        return { body: b.form, contentType: null };
      }
      const json: Record<string, unknown> = { ...b.json, model: c.upstreamModel };
      // Ask for usage in chat and completion streams; the extra chunk is dropped again when the client did not
      // ask for it. Other endpoints (the Responses API) report usage in their last event unasked, and may
      // refuse an option they do not know.
      if (b.stream && (c.kind === "chat" || c.kind === "completion")) {
        json.stream_options = { ...(b.json.stream_options as object | undefined), include_usage: true };
      }
      if (c.injectMaxOutput !== null) {
        if (injects()) json[c.kind === "chat" ? field! : "max_tokens"] = c.injectMaxOutput;
        // The Responses API calls it max_output_tokens. Without a bound its answer could outgrow the hold.
        else if (c.path === "/v1/responses") json.max_output_tokens = c.injectMaxOutput;
      }
      return { body: JSON.stringify(json), contentType: "application/json" };
    },
    answer(bytes, contentType) {
      return passAnswer(bytes, contentType, openAIUsageOf, rewrite);
    },
    upstreamError(_status, bytes, contentType) {
      return { bytes, contentType };
    },
    stream() {
      return { kind: "pass", framing: openAIStreamFraming, rewrite };
    },
    switchMaxTokensField(text) {
      // Only a chat request whose cap relay chose can switch: the client's own field is the client's business.
      if (c.kind !== "chat" || !injects() || field === null || !refusesMaxTokensField(text, field)) return false;
      field = field === "max_tokens" ? "max_completion_tokens" : "max_tokens";
      return true;
    },
  };
}
