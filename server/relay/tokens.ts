// gpt-tokenizer is a real BPE tokenizer (o200k_base); it counts what an OpenAI model would, and is a close
// estimate for other models. Used only when an upstream reports no usage, and to bound prompts for holds.
// Loading it builds the o200k rank tables, which took about two thirds of the binary's start-up (400 of
// 600 ms), so it is loaded on first use, or by `preloadTokenizer` shortly after the server is up.
type CountTokens = typeof import("gpt-tokenizer").countTokens;
let countTokens: CountTokens | null = null;

function tokenizer(): CountTokens {
  return (countTokens ??= (require("gpt-tokenizer") as typeof import("gpt-tokenizer")).countTokens);
}

/** Loads the tokenizer now (it blocks for a few hundred ms), so no request has to wait for it. */
export function preloadTokenizer(): void {
  tokenizer();
}

const MAX_EXACT_CHARS = 64 * 1024;
const textEncoder = new TextEncoder();

/** Token count of `text`; very long texts are bounded by their UTF-8 length (a token is at least one byte). */
export function countText(text: string): number {
  if (text.length === 0) return 0;
  if (text.length > MAX_EXACT_CHARS) return textEncoder.encode(text).length;
  const count = tokenizer(); // outside the try: a tokenizer that cannot load is a bug, not a fallback
  try {
    return count(text, { disallowedSpecial: new Set() } as never);
  } catch {
    return textEncoder.encode(text).length;
  }
}

/** Collects the text a model reads from a request body: messages, prompt, input, plus tool definitions. */
export function promptText(body: Record<string, unknown>): { text: string; messages: number } {
  const parts: string[] = [];
  let messages = 0;
  const visit = (v: unknown, depth: number): void => {
    if (depth > 8 || v === null || v === undefined) return;
    if (typeof v === "string") parts.push(v);
    else if (Array.isArray(v)) for (const x of v) visit(x, depth + 1);
    else if (typeof v === "object") {
      const o = v as Record<string, unknown>;
      // Content parts: only the text counts here; images are priced by the upstream's own usage report.
      if (typeof o.text === "string") parts.push(o.text);
      if (o.content !== undefined) visit(o.content, depth + 1);
      if (typeof o.name === "string") parts.push(o.name);
      if (o.tool_calls !== undefined) parts.push(JSON.stringify(o.tool_calls));
      if (o.arguments !== undefined && typeof o.arguments === "string") parts.push(o.arguments);
    }
  };
  if (Array.isArray(body.messages)) {
    messages = body.messages.length;
    visit(body.messages, 0);
  }
  visit(body.system, 0); // Anthropic's Messages API keeps the system prompt outside the messages
  visit(body.prompt, 0);
  visit(body.input, 0);
  if (body.tools !== undefined) parts.push(JSON.stringify(body.tools));
  if (body.functions !== undefined) parts.push(JSON.stringify(body.functions));
  return { text: parts.join("\n"), messages };
}

/** Prompt tokens as counted by the tokenizer, with chat framing overhead (as OpenAI counts it). */
export function countPrompt(body: Record<string, unknown>): number {
  const { text, messages } = promptText(body);
  return countText(text) + messages * 4 + (messages > 0 ? 3 : 0);
}

/**
 * An upper bound on the prompt for holding credits: tokenizers differ between models, so the estimate
 * gets a margin; it is never more than the body's size (each token is at least one byte).
 */
export function promptBound(body: Record<string, unknown>, bodyBytes: number): number {
  const estimate = countPrompt(body);
  return Math.min(Math.ceil(estimate * 1.5) + 32, bodyBytes + 32);
}
