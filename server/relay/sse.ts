import { countText } from "./tokens";

export type Usage = { prompt_tokens?: number; completion_tokens?: number; input_tokens?: number; output_tokens?: number };

/** Reads the usage an upstream reported in a JSON body (chat, completions, embeddings, responses API). */
export function usageOf(obj: unknown): { prompt: number; completion: number } | null {
  const u = (obj as { usage?: Usage } | null)?.usage;
  if (!u || typeof u !== "object") return null;
  const prompt = u.prompt_tokens ?? u.input_tokens;
  const completion = u.completion_tokens ?? u.output_tokens ?? 0;
  if (typeof prompt !== "number" || typeof completion !== "number") return null;
  return { prompt: Math.max(0, Math.floor(prompt)), completion: Math.max(0, Math.floor(completion)) };
}

/**
 * The usage in one streamed event: at the top level in chat and completions chunks, under `response` in the
 * Responses API's final events (`response.completed`, `response.incomplete`, `response.failed`).
 */
export function streamedUsageOf(obj: unknown): { prompt: number; completion: number } | null {
  return usageOf(obj) ?? usageOf((obj as { response?: unknown } | null)?.response ?? null);
}

/**
 * Splits an SSE byte stream into events, one `feed` at a time. Events are returned whole with their
 * data payload, so the caller can forward, inspect or drop each one.
 */
export class SseSplitter {
  private buffer = "";
  private readonly decoder = new TextDecoder();

  feed(bytes: Uint8Array): { raw: string; data: string | null }[] {
    return this.feedText(this.decoder.decode(bytes, { stream: true }));
  }

  /** Same as `feed`, for text the caller already decoded with `decode`. */
  feedText(text: string): { raw: string; data: string | null }[] {
    this.buffer += text;
    return this.drain(false);
  }

  /** Decodes bytes with this splitter's streaming decoder without buffering them as events. */
  decode(bytes: Uint8Array): string {
    return this.decoder.decode(bytes, { stream: true });
  }

  /** True when no partial event is waiting for more bytes. */
  get idle(): boolean {
    return this.buffer.length === 0;
  }

  /** Whatever is left at the end of the stream (an unterminated last event). */
  end(): { raw: string; data: string | null }[] {
    this.buffer += this.decoder.decode();
    return this.drain(true);
  }

  private drain(final: boolean): { raw: string; data: string | null }[] {
    if (this.buffer.includes("\r")) this.buffer = this.buffer.replace(/\r\n?/g, "\n");
    const out: { raw: string; data: string | null }[] = [];
    let start = 0;
    for (;;) {
      const end = this.buffer.indexOf("\n\n", start);
      if (end === -1) break;
      const raw = this.buffer.slice(start, end);
      start = end + 2;
      if (raw.length > 0) out.push({ raw, data: dataOf(raw) });
    }
    this.buffer = this.buffer.slice(start);
    if (final && this.buffer.trim().length > 0) {
      out.push({ raw: this.buffer, data: dataOf(this.buffer) });
      this.buffer = "";
    }
    return out;
  }
}

/** The data payload of one raw event (its `data:` lines joined), or null when it has none. */
export function dataOf(raw: string): string | null {
  if (raw.startsWith("data:") && !raw.includes("\n")) return raw.slice(raw[5] === " " ? 6 : 5);
  const lines = raw.split("\n").filter((l) => l.startsWith("data:"));
  return lines.length === 0 ? null : lines.map((l) => l.slice(l[5] === " " ? 6 : 5)).join("\n");
}

/** The data payloads of the events in raw SSE text. */
export function payloadsOf(raw: string): string[] {
  const s = new SseSplitter();
  return [...s.feedText(raw), ...s.end()].map((e) => e.data).filter((d): d is string => d !== null);
}

/** Counts the generated tokens in forwarded SSE text (content, text, reasoning and tool-call arguments). */
export function countStreamedTokens(forwardedText: string): number {
  const parts: string[] = [];
  for (const p of payloadsOf(forwardedText)) {
    if (p === "[DONE]") continue;
    let obj: any;
    try {
      obj = JSON.parse(p);
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
  }
  return countText(parts.join(""));
}
