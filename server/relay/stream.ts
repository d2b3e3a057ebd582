import { SseSplitter, countStreamedTokens, dataOf, usageOf } from "./sse";

export type StreamEnd = "done" | "client_abort" | "upstream_error" | "idle_timeout";
export type StreamResult = { end: StreamEnd; usage: { prompt: number; completion: number } | null; completionEstimate: () => number };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const USAGE = Buffer.from('"usage"');
const BLANK = Buffer.from("\n\n");

/**
 * Where the first `"usage"` key with a value other than null is, or -1. With
 * `include_usage`, OpenAI puts `"usage":null` in every chunk and the numbers only in the last one; those
 * nulls pass through untouched instead of each event being decoded and parsed.
 */
function usageValueAt(buf: Buffer): number {
  const ws = (b: number | undefined) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
  for (let at = buf.indexOf(USAGE); at !== -1; at = buf.indexOf(USAGE, at + USAGE.length)) {
    let i = at + USAGE.length;
    while (ws(buf[i])) i++;
    if (buf[i] !== 0x3a) return at; // not a key after all (say, inside a string): let the parser decide
    i++;
    while (ws(buf[i])) i++;
    if (!(buf[i] === 0x6e && buf[i + 1] === 0x75 && buf[i + 2] === 0x6c && buf[i + 3] === 0x6c)) return at; // not "null"
  }
  return -1;
}

/** The text form of the same test, for events that went through the splitter. */
const USAGE_VALUE = /"usage"\s*:\s*(?!null\b)/;

/** Whether a chunk ends exactly on an event boundary ("\n\n"): no partial event or UTF-8 sequence after it. */
function endsOnBoundary(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n >= 2 && bytes[n - 1] === 10 && bytes[n - 2] === 10;
}


const errorEvent = (code: string, message: string) =>
  encoder.encode(`data: ${JSON.stringify({ error: { message, type: "upstream_error", code, param: null } })}\n\n`);

/**
 * Pipes an upstream SSE body to the client event by event (never buffering the whole response).
 * It drops the usage-only chunk the relay asked for when the client did not, notes the reported usage,
 * and ends the client's stream with an error event when the upstream breaks or stalls. `onEnd` runs
 * exactly once, however the stream ends: normal end, client abort, upstream error or idle timeout.
 */
export function relaySse(opts: {
  body: ReadableStream<Uint8Array>;
  abort: AbortController;
  idleMs: number;
  clientWantsUsage: boolean;
  /** Registers the stream's handler for a client that goes away (see UpstreamAttempt). */
  onClientAbort: (fn: () => void) => void;
  onEnd: (r: StreamResult) => void;
}): ReadableStream<Uint8Array> {
  const reader = opts.body.getReader();
  const splitter = new SseSplitter();
  /** What reached the client, kept (undecoded when possible) for a token count if no usage arrives. */
  const forwarded: (string | Uint8Array)[] = [];
  let usage: StreamResult["usage"] = null;
  /** True while everything read so far ended on an event boundary (so the splitter holds nothing). */
  let aligned = true;
  let ended = false;
  // One idle timer per stream, re-armed when each upstream read starts (no promise race per read). It
  // acts only while a read is pending, so a client that reads slowly is not taken for an idle upstream;
  // firing aborts the upstream and cancels the read, and the pull that was waiting ends the stream.
  let reading = false;
  let idle = false;
  const timer = setTimeout(() => {
    if (!reading || ended) return;
    idle = true;
    opts.abort.abort(new Error("stream idle timeout"));
    reader.cancel().catch(() => {});
  }, opts.idleMs);
  const finish = (end: StreamEnd) => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    opts.onEnd({ end, usage, completionEstimate: () => countStreamedTokens(forwarded.map((f) => (typeof f === "string" ? f : decoder.decode(f))).join("")) });
  };
  const onClientAbort = () => {
    opts.abort.abort(new Error("client disconnected"));
    reader.cancel().catch(() => {});
    finish("client_abort");
  };
  opts.onClientAbort(onClientAbort);

  const render = (events: { raw: string; data: string | null }[]): string => {
    let out = "";
    for (const e of events) {
      if (e.data !== null && e.data !== "[DONE]" && USAGE_VALUE.test(e.data)) {
        try {
          const obj = JSON.parse(e.data);
          const u = usageOf(obj);
          if (u) usage = u;
          if (!opts.clientWantsUsage && u && Array.isArray(obj.choices) && obj.choices.length === 0) continue;
        } catch {
          /* not JSON: forward as is */
        }
      }
      out += e.raw + "\n\n";
    }
    return out;
  };


  // A Bun "direct" stream: chunks are written straight to the client's socket, without the queue of a
  // default ReadableStream (half of the per-chunk cost of relaying a stream in profiles).
  type Sink = { write(chunk: Uint8Array): number | Promise<number>; flush(): number | Promise<number>; close(): void };
  const safely = (fn: () => unknown) => {
    try {
      fn();
    } catch {
      /* the client is already gone */
    }
  };
  return new ReadableStream({
    type: "direct",
    async pull(sink: Sink) {
      // A write that throws means the client is gone: that is a client abort, not an upstream failure.
      // A write or flush that returns a promise is backpressure from a slow client: wait for it, so the
      // upstream is read no faster than the client takes the bytes.
      const send = async (...parts: Uint8Array[]) => {
        try {
          for (const part of parts) {
            const w = sink.write(part);
            if (typeof w !== "number") await w;
          }
          const f = sink.flush(); // one flush per upstream read: the client sees each read's events at once
          if (typeof f !== "number") await f;
        } catch {
          onClientAbort();
        }
      };
      const sendWhole = (bytes: Uint8Array) => {
        const parts: Uint8Array[] = [];
        let rest = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
        while (rest.length > 0) {
          const at = usageValueAt(rest);
          if (at === -1) {
            parts.push(rest);
            break;
          }
          const prev = rest.lastIndexOf(BLANK, at);
          const start = prev === -1 ? 0 : prev + 2;
          const end = rest.indexOf(BLANK, at) + 2; // the read ends on a boundary, so there is one
          if (start > 0) parts.push(rest.subarray(0, start));
          const raw = decoder.decode(rest.subarray(start, end - 2));
          const out = render([{ raw, data: dataOf(raw) }]);
          if (out) parts.push(encoder.encode(out));
          rest = rest.subarray(end);
        }
        for (const part of parts) forwarded.push(part);
        return send(...parts);
      };
      try {
        for (;;) {
          reading = true;
          timer.refresh();
          const r = await reader.read();
          reading = false;
          if (ended) break;
          if (idle) {
            await send(errorEvent("upstream_timeout", `The upstream sent nothing for ${opts.idleMs} ms.`));
            finish("idle_timeout");
            break;
          }
          if (r.done) {
            const tail = render(splitter.end());
            if (tail) {
              forwarded.push(tail);
              await send(encoder.encode(tail));
            }
            finish("done"); // no-op when the last write found the client gone
            break;
          }
          // Fast path, on the bytes: when this read and every one before it end on an event boundary, the
          // events go out as the upstream's own bytes; only an event that mentions usage is decoded and
          // parsed (to note the usage, and drop it if the client did not ask for it).
          const whole = aligned && endsOnBoundary(r.value);
          aligned = endsOnBoundary(r.value);
          if (whole) {
            await sendWhole(r.value);
            if (ended) break;
            continue;
          }
          // Slow path: a read that ends inside an event (or follows one that did) goes through the splitter.
          const text = render(splitter.feed(r.value));
          if (text) {
            forwarded.push(text);
            await send(encoder.encode(text));
          }
          if (ended) break;
        }
      } catch {
        reading = false;
        if (!ended) {
          if (idle) {
            await send(errorEvent("upstream_timeout", `The upstream sent nothing for ${opts.idleMs} ms.`));
            finish("idle_timeout");
          } else {
            await send(errorEvent("upstream_error", "The upstream connection was lost mid-stream."));
            finish("upstream_error");
          }
        }
      }
      safely(() => sink.close());
    },
    cancel() {
      onClientAbort();
    },
  } as unknown as UnderlyingDefaultSource<Uint8Array>);
}
