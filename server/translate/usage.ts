/**
 * Token usage in one normalised form, so the relay can bill a translated request the same way whichever
 * API shape the upstream reported it in. `input` excludes cache reads and cache writes.
 */
export type Usage = { input: number; cacheRead: number; cacheWrite: number; output: number };

const ZERO: Usage = Object.freeze({ input: 0, cacheRead: 0, cacheWrite: 0, output: 0 });

/** A non-negative whole token count, or undefined when the field is missing or not a number. */
function count(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? Math.max(0, Math.floor(v)) : undefined;
}

function record(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/**
 * Reads OpenAI-style usage: chat/completions (`prompt_tokens`, which INCLUDES cached tokens), DeepSeek's
 * `prompt_cache_hit_tokens` when `prompt_tokens_details` is absent, and the Responses API (`input_tokens`).
 * OpenAI reports no cache writes, so `cacheWrite` is 0. Null when there are no numbers at all.
 */
export function usageFromOpenAI(u: unknown): Usage | null {
  const o = record(u);
  if (!o) return null;
  const prompt = count(o.prompt_tokens) ?? count(o.input_tokens);
  const output = count(o.completion_tokens) ?? count(o.output_tokens);
  if (prompt === undefined && output === undefined) return null;
  const details = record(o.prompt_tokens_details) ?? record(o.input_tokens_details);
  const cached = (details ? count(details.cached_tokens) : count(o.prompt_cache_hit_tokens)) ?? 0;
  const p = prompt ?? 0;
  // A provider that reports more cached tokens than prompt tokens is wrong about one of them; never bill a negative input.
  const cacheRead = Math.min(cached, p);
  return { input: p - cacheRead, cacheRead, cacheWrite: 0, output: output ?? 0 };
}

/**
 * Reads Anthropic usage, keeping only the fields present: `message_start` carries all of them, while
 * `message_delta` carries `output_tokens` and sometimes (as cumulative values) the others.
 */
export function usageFromAnthropic(u: unknown): Partial<Usage> | null {
  const o = record(u);
  if (!o) return null;
  const out: Partial<Usage> = {};
  const input = count(o.input_tokens);
  const cacheRead = count(o.cache_read_input_tokens);
  const cacheWrite = count(o.cache_creation_input_tokens);
  const output = count(o.output_tokens);
  if (input !== undefined) out.input = input;
  if (cacheRead !== undefined) out.cacheRead = cacheRead;
  if (cacheWrite !== undefined) out.cacheWrite = cacheWrite;
  if (output !== undefined) out.output = output;
  return Object.keys(out).length > 0 ? out : null;
}

/** Folds one Anthropic usage report into what came before. Every field is cumulative, so the later value wins. */
export function mergeAnthropicUsage(acc: Usage | null, part: Partial<Usage> | null): Usage | null {
  if (!part) return acc;
  return { ...(acc ?? ZERO), ...part };
}

export function toOpenAIUsage(u: Usage) {
  const prompt = u.input + u.cacheRead + u.cacheWrite;
  return { prompt_tokens: prompt, completion_tokens: u.output, total_tokens: prompt + u.output, prompt_tokens_details: { cached_tokens: u.cacheRead } };
}

export function toAnthropicUsage(u: Usage) {
  return { input_tokens: u.input, output_tokens: u.output, cache_creation_input_tokens: u.cacheWrite, cache_read_input_tokens: u.cacheRead };
}

/** All zeros: what a translated response reports when the upstream reported nothing. */
export const NO_USAGE: Usage = ZERO;
