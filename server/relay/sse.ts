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
