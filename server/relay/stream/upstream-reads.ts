/** One read of the upstream body: bytes or its end, or a failure (reset, abort). */
export type Step = { r: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>> } | { failed: true };

/**
 * Reads an upstream body one chunk at a time under an idle timeout. One timer per stream, re-armed when
 * each read starts (no promise race per read). It acts only while a read is pending, so a client that reads
 * slowly is not taken for an idle upstream; firing aborts the upstream and cancels the read, so the pending
 * read ends and the caller sees `idle`. (A shared sweeper timer instead measured worse: its interval kept
 * the collector's helper threads busy.)
 */
export class UpstreamReads {
  /** The upstream went silent for the idle timeout while a read was pending. */
  idle = false;
  private reading = false;
  private stopped = false;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(body: ReadableStream<Uint8Array>, private readonly abort: AbortController, idleMs: number) {
    this.reader = body.getReader();
    this.timer = setTimeout(() => {
      if (!this.reading || this.stopped) return;
      this.idle = true;
      this.cancel(new Error("stream idle timeout"));
    }, idleMs);
  }

  async read(): Promise<Step> {
    this.reading = true;
    this.timer.refresh();
    try {
      return { r: await this.reader.read() };
    } catch {
      return { failed: true };
    } finally {
      this.reading = false;
    }
  }

  /** Whether a read is pending (the upstream owes bytes). */
  get waiting(): boolean {
    return this.reading;
  }

  /** Aborts the upstream request and ends any pending read. */
  cancel(reason: Error): void {
    this.abort.abort(reason);
    this.reader.cancel().catch(() => {});
  }

  /** The stream is over: the idle timer must not fire any more. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
