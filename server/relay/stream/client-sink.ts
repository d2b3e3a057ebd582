/** A Bun "direct" stream's sink: chunks are written straight to the client's socket. */
export type Sink = { write(chunk: Uint8Array): number | Promise<number>; flush(): number | Promise<number>; close(): void };

/** Writes parts to the client and, when asked, flushes; a promise means backpressure (wait for it). */
export type Send = (flush: boolean, ...parts: Uint8Array[]) => Promise<void> | undefined;

/**
 * The writer of a direct stream. A write that throws means the client is gone: that is a client abort
 * (`onGone`), not an upstream failure. A write or flush that returns a promise is backpressure from a slow
 * client: the caller waits for it, so the upstream is read no faster than the client takes the bytes.
 * Otherwise (the usual case) nothing is awaited: a promise per send was a measurable part of a relayed stream.
 */
export function sender(sink: Sink, onGone: () => void): Send {
  return (flush, ...parts) => {
    let pending: Promise<unknown>[] | null = null;
    try {
      for (const part of parts) {
        const w = sink.write(part);
        if (typeof w !== "number") (pending ??= []).push(w);
      }
      if (flush) {
        const f = sink.flush(); // one flush per upstream read: the client sees each read's events at once
        if (typeof f !== "number") (pending ??= []).push(f);
      }
    } catch {
      onGone();
      return undefined;
    }
    return pending ? Promise.all(pending).then(() => {}, onGone) : undefined;
  };
}

/** Closes the client's stream, ignoring a client that is already gone. */
export function closeQuietly(sink: Sink): void {
  try {
    sink.close();
  } catch {
    /* the client is already gone */
  }
}

/** Wraps a pull function as a Bun direct stream (no default ReadableStream queue: half the per-chunk cost). */
export function directStream(pull: (sink: Sink) => Promise<void>, cancel: () => void): ReadableStream<Uint8Array> {
  return new ReadableStream({ type: "direct", pull, cancel } as unknown as UnderlyingDefaultSource<Uint8Array>);
}
