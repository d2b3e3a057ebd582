import { errorCodes, type ErrorCode } from "../errors";
import type { ModelRewriter } from "./model-name";
import { SseSplitter, countStreamedTokens, dataOf, payloadsOf, streamedUsageOf } from "./sse";

/** How a stream ended; `cut`: relay ended it (a revocation), with an error event. */
export type StreamEnd = "done" | "client_abort" | "upstream_error" | "idle_timeout" | "cut";
export type StreamResult = { end: StreamEnd; usage: { prompt: number; completion: number } | null; completionEstimate: () => number };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BLANK = Buffer.from("\n\n");
// Buffer's native byte searches, applied to the Uint8Array reads as they come: wrapping each read in a
// Buffer first (Buffer.from(bytes.buffer, …)) made JavaScriptCore materialise its ArrayBuffer, ~0.3 µs.
const indexOf = (bytes: Uint8Array, what: Uint8Array, from: number): number => Buffer.prototype.indexOf.call(bytes, what, from);
const lastIndexOf = (bytes: Uint8Array, what: Uint8Array, from: number): number => Buffer.prototype.lastIndexOf.call(bytes, what, from);
// Usage is an object; with `include_usage`, OpenAI also puts `"usage":null` in every other chunk. JSON
// encoders write the key as one of these two (compact, or Python's default `": "`).
const USAGE_COMPACT = Buffer.from('"usage":{');
const USAGE_SPACED = Buffer.from('"usage": {');

/**
 * Where the next `"usage"` key with an object value starts, from `from` on, or -1. Two searches of the
 * whole read, instead of one stop at every `"usage":null` (a native call each, 50 per bench stream).
 * A usage spelled otherwise (`"usage" : {`) is not seen here; `usageInText` still finds it at the end.
 */
function usageObjectAt(buf: Uint8Array, from: number): number {
  const a = indexOf(buf, USAGE_COMPACT, from);
  const b = indexOf(buf, USAGE_SPACED, from);
  return a === -1 ? b : b === -1 ? a : Math.min(a, b);
}

/** The test for events that go through the splitter: a usage key with a value other than null. */
const USAGE_VALUE = /"usage"\s*:\s*(?!null\b)/;

/** The last usage reported in SSE text, by the exact test above (for streams the byte search saw none in). */
function usageInText(text: string): StreamResult["usage"] {
  let found: StreamResult["usage"] = null;
  for (const p of payloadsOf(text)) {
    if (p === "[DONE]" || !USAGE_VALUE.test(p)) continue;
    try {
      found = streamedUsageOf(JSON.parse(p)) ?? found;
    } catch {
      /* not JSON */
    }
  }
  return found;
}

/** Whether a chunk ends exactly on an event boundary ("\n\n"): no partial event or UTF-8 sequence after it. */
function endsOnBoundary(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n >= 2 && bytes[n - 1] === 10 && bytes[n - 2] === 10;
}

const errorEvent = (code: string, message: string, type = "upstream_error") =>
  encoder.encode(`data: ${JSON.stringify({ error: { message, type, code, param: null } })}\n\n`);

/** The OpenAI stream's last event. */
const DONE_EVENT = Buffer.from("data: [DONE]\n\n");

/** Whether a read ends with the `data: [DONE]` event, after which an OpenAI stream has nothing more to say. */
function endsWithDone(bytes: Uint8Array): boolean {
  const n = bytes.length, k = DONE_EVENT.length;
  if (n < k || bytes[n - 3] !== 0x5d) return false; // "]" before the blank line: the cheap first test
  if (n > k && bytes[n - k - 1] !== 0x0a) return false;
  for (let i = 0; i < k; i++) if (bytes[n - k + i] !== DONE_EVENT[i]) return false;
  return true;
}

type Step = { r: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>> } | { failed: true };

/**
 * Pipes an upstream SSE body to the client event by event (never buffering the whole response).
 * It drops the usage-only chunk the relay asked for when the client did not, notes the reported usage,
 * and ends the client's stream with an error event when the upstream breaks or stalls. `onEnd` runs
 * exactly once, however the stream ends: normal end, client abort, upstream error or idle timeout.
 *
 * Resolves once the first upstream read is in (or failed), so the response's status line, headers and
 * first events leave in one write rather than the headers alone. And the client's stream is closed as soon
 * as `data: [DONE]` has gone out, in the same write, instead of one more write for the end of the chunked
 * body after the upstream's own end arrives. The upstream is still read to its end (that is when the
 * request is accounted, and its connection is kept for reuse); anything after [DONE] only counts for usage.
 */
export async function relaySse(opts: {
  body: ReadableStream<Uint8Array>;
  abort: AbortController;
  idleMs: number;
  clientWantsUsage: boolean;
  /** Registers the stream's handler for a client that goes away (see UpstreamAttempt). */
  onClientAbort: (fn: () => void) => void;
  /** Puts the client's model name into every event (the channel maps it to another upstream id); null: none. */
  rewrite?: ModelRewriter | null;
  /** Receives, at once, the function that cuts this stream short with an error event (revocations). */
  onCuttable?: (cut: (code: ErrorCode, message: string) => void) => void;
  onEnd: (r: StreamResult) => void;
}): Promise<ReadableStream<Uint8Array>> {
  const rewrite = opts.rewrite ?? null;
  const reader = opts.body.getReader();
  let splitter: SseSplitter | null = null;
  /** What reached the client, kept (undecoded when possible) for a token count if no usage arrives. */
  const forwarded: (string | Uint8Array)[] = [];
  let usage: StreamResult["usage"] = null;
  /** True while everything read so far ended on an event boundary (so the splitter holds nothing). */
  let aligned = true;
  let ended = false;
  /** The client's stream was closed after [DONE]; the upstream is being read to its end. */
  let clientDone = false;
  // One idle timer per stream, re-armed when each upstream read starts (no promise race per read). It
  // acts only while a read is pending, so a client that reads slowly is not taken for an idle upstream;
  // firing aborts the upstream and cancels the read, and the pull that was waiting ends the stream.
  // (A shared sweeper timer instead measured worse: its interval kept the collector's helper threads busy.)
  let reading = false;
  let idle = false;
  const timer = setTimeout(() => {
    if (!reading || ended) return;
    idle = true;
    opts.abort.abort(new Error("stream idle timeout"));
    reader.cancel().catch(() => {});
  }, opts.idleMs);
  const forwardedText = () => forwarded.map((f) => (typeof f === "string" ? f : decoder.decode(f))).join("");
  const finish = (end: StreamEnd) => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    if (usage === null) usage = usageInText(forwardedText());
    opts.onEnd({ end, usage, completionEstimate: () => countStreamedTokens(forwardedText()) });
  };
  const onClientAbort = () => {
    if (clientDone) return; // the client had the whole answer: nothing to abort
    opts.abort.abort(new Error("client disconnected"));
    reader.cancel().catch(() => {});
    finish("client_abort");
  };
  opts.onClientAbort(onClientAbort);
  /** Set by a cut: the pull loop sends this error event and ends the stream as `cut`. */
  let cutWith: { code: ErrorCode; message: string } | null = null;
  opts.onCuttable?.((code, message) => {
    if (ended || clientDone || cutWith) return;
    cutWith = { code, message };
    opts.abort.abort(new Error(code));
    reader.cancel().catch(() => {});
  });

  const render = (events: { raw: string; data: string | null }[]): string => {
    let out = "";
    for (const e of events) {
      if (e.data !== null && e.data !== "[DONE]" && USAGE_VALUE.test(e.data)) {
        try {
          const obj = JSON.parse(e.data);
          const u = streamedUsageOf(obj);
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

  const readStep = async (): Promise<Step> => {
    reading = true;
    timer.refresh();
    try {
      return { r: await reader.read() };
    } catch {
      return { failed: true };
    } finally {
      reading = false;
    }
  };
  const first = await readStep();

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
      // A write or flush that returns a promise is backpressure from a slow client: the caller waits for
      // it, so the upstream is read no faster than the client takes the bytes. Otherwise (the usual case)
      // nothing is awaited: a promise per send was a measurable part of a relayed stream.
      const send = (flush: boolean, ...parts: Uint8Array[]): Promise<void> | undefined => {
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
          onClientAbort();
          return undefined;
        }
        return pending ? Promise.all(pending).then(() => {}, onClientAbort) : undefined;
      };
      // Each event with a usage object is decoded and parsed (to note the usage); one the client did not
      // ask for is cut out. Everything else goes out as the upstream's own bytes, usually in one write.
      // A read that ends with [DONE] is not flushed: closing the stream right after sends it with the end.
      const sendWhole = (bytes: Uint8Array, last: boolean) => {
        let parts: Uint8Array[] | null = null;
        let from = 0; // bytes before `from` are settled: in `parts`, or cut out
        for (let at = usageObjectAt(bytes, 0); at !== -1;) {
          const prev = lastIndexOf(bytes, BLANK, at);
          const start = prev === -1 ? 0 : prev + 2; // never before `from`: an event boundary ends there
          const end = indexOf(bytes, BLANK, at) + 2; // the read ends on a boundary, so there is one
          const raw = decoder.decode(bytes.subarray(start, end - 2));
          if (render([{ raw, data: dataOf(raw) }]) === "") {
            parts ??= [];
            if (start > from) parts.push(bytes.subarray(from, start));
            from = end;
          }
          at = usageObjectAt(bytes, end);
        }
        if (parts === null) {
          forwarded.push(bytes);
          return send(!last, bytes);
        }
        if (from < bytes.length) parts.push(bytes.subarray(from));
        for (const part of parts) forwarded.push(part);
        return send(!last, ...parts);
      };
      const failWith = async (end: "idle_timeout" | "upstream_error" | "cut") => {
        const event = end === "cut" && cutWith
          ? errorEvent(cutWith.code, cutWith.message, errorCodes[cutWith.code][1])
          : end === "idle_timeout"
          ? errorEvent("upstream_timeout", `The upstream sent nothing for ${opts.idleMs} ms.`)
          : errorEvent("upstream_error", "The upstream connection was lost mid-stream.");
        const backpressure = send(true, event);
        if (backpressure) await backpressure;
        finish(end);
      };
      for (let step = first; !ended; step = await readStep()) {
        if (clientDone) {
          // After [DONE]: read the upstream to its end. Whatever comes still counts for usage, but the
          // client has its whole answer, so a stall or a break now ends the request as done.
          if (idle || "failed" in step || step.r.done) {
            finish("done");
            break;
          }
          if (usage === null) render((splitter ??= new SseSplitter()).feed(step.r.value));
          continue;
        }
        if (cutWith) {
          await failWith("cut");
          break;
        }
        if (idle || "failed" in step) {
          await failWith(idle ? "idle_timeout" : "upstream_error");
          break;
        }
        const r = step.r;
        if (r.done) {
          const rendered = splitter ? render(splitter.end()) : "";
          const tail = rewrite && rendered ? rewrite.text(rendered) : rendered;
          if (tail) {
            forwarded.push(tail);
            const backpressure = send(true, encoder.encode(tail));
            if (backpressure) await backpressure;
          }
          finish("done"); // no-op when the last write found the client gone
          break;
        }
        // Fast path, on the bytes: when this read and every one before it end on an event boundary, the
        // events go out as the upstream's own bytes; only an event with a usage object is decoded and
        // parsed (to note the usage, and drop it if the client did not ask for it).
        const whole = aligned && endsOnBoundary(r.value);
        aligned = endsOnBoundary(r.value);
        if (whole) {
          const last = endsWithDone(r.value);
          const backpressure = sendWhole(rewrite ? rewrite.bytes(r.value) : r.value, last);
          if (backpressure) await backpressure;
          if (last && !ended) {
            safely(() => sink.close());
            clientDone = true;
          }
          continue;
        }
        // Slow path: a read that ends inside an event (or follows one that did) goes through the splitter.
        const rendered = render((splitter ??= new SseSplitter()).feed(r.value));
        const text = rewrite && rendered ? rewrite.text(rendered) : rendered;
        if (text) {
          forwarded.push(text);
          const backpressure = send(true, encoder.encode(text));
          if (backpressure) await backpressure;
        }
      }
      if (!clientDone) safely(() => sink.close());
    },
    cancel() {
      onClientAbort();
    },
  } as unknown as UnderlyingDefaultSource<Uint8Array>);
}
