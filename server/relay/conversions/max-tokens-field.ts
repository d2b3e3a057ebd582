/** The two names OpenAI-compatible APIs give the output cap. */
export type MaxTokensField = "max_tokens" | "max_completion_tokens";

/** OpenAI's reasoning models refuse `max_tokens` (o1, o3, o4-mini, gpt-5 …), also behind a `provider/` prefix. */
const REASONING = /^(?:[\w.-]+\/)?(?:o\d|gpt-5)/i;

/**
 * The output-cap field relay sets for an OpenAI-compatible upstream: the one the client used, else
 * `max_completion_tokens` for OpenAI's reasoning models, else `max_tokens`, which every compatible provider
 * knows (many know only it). An upstream that still refuses the choice gets the other on one retry.
 */
export function maxTokensFieldFor(json: Record<string, unknown>, upstreamModel: string): MaxTokensField {
  if (json.max_completion_tokens !== undefined && json.max_completion_tokens !== null) return "max_completion_tokens";
  if (json.max_tokens !== undefined && json.max_tokens !== null) return "max_tokens";
  return REASONING.test(upstreamModel) ? "max_completion_tokens" : "max_tokens";
}

/** Whether an upstream's 400 says the output-cap field is the wrong one (OpenAI: "Unsupported parameter: 'max_tokens' …"). */
export function refusesMaxTokensField(text: string, field: MaxTokensField): boolean {
  return text.includes(field) && /unsupported|not supported|unrecognized|unknown|invalid/i.test(text) &&
    text.includes(field === "max_tokens" ? "max_completion_tokens" : "max_tokens");
}
