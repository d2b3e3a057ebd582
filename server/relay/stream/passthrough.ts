import { errorCodes, type ErrorCode } from "../../errors";
import type { SseEvent, StreamFraming, StreamUsage } from "../../shapes/stream-framing";
import { nextNeedle } from "../../shapes/stream-framing";
import type { ModelRewriter } from "../model-name";
import { SseSplitter, dataOf } from "../sse";
import { countText } from "../tokens";
import { closeQuietly, directStream, sender, type Sink } from "./client-sink";
import { UpstreamReads } from "./upstream-reads";

/** How a stream ended; `cut`: relay ended it (a revocation), with an error event. */
export type StreamEnd = "done" | "client_abort" | "upstream_error" | "idle_timeout" | "cut";
export type StreamResult = { end: StreamEnd; usage: StreamUsage | null; completionEstimate: () => number };

export type StreamOptions = {
  body: ReadableStream<Uint8Array>;
  abort: AbortController;
  idleMs: number;
  /** The event stream's shape: the client's, which is also the upstream's on this path. */
  framing: StreamFraming;
  clientWantsUsage: boolean;
  /** Registers the stream's handler for a client that goes away (see UpstreamAttempt). */
  onClientAbort: (fn: () => void) => void;
  /** Puts the client's model name into every event (the channel maps it to another upstream id); null: none. */
  rewrite?: ModelRewriter | null;
  /** Receives, at once, the function that cuts this stream short with an error event (revocations). */
  onCuttable?: (cut: (code: ErrorCode, message: string) => void) => void;
  onEnd: (r: StreamResult) => void;
  /** Runs just before the write that gives the client the whole answer (its last event), with the usage so far. */
  beforeLast?: (usage: StreamUsage | null, completionEstimate: () => number) => void;
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BLANK = Buffer.from("\n\n");
// Buffer's native byte searches, applied to the Uint8Array reads as they come: wrapping each read in a
// Buffer first (Buffer.from(bytes.buffer, …)) made JavaScriptCore materialise its ArrayBuffer, ~0.3 µs.
const indexOf = (bytes: Uint8Array, what: Uint8Array, from: number): number => Buffer.prototype.indexOf.call(bytes, what, from);
const lastIndexOf = (bytes: Uint8Array, what: Uint8Array, from: number): number => Buffer.prototype.lastIndexOf.call(bytes, what, from);

/** The test for events that go through the splitter: a usage key with a value other than null. */
const USAGE_VALUE = /"usage"\s*:\s*(?!null\b)/;

/** Whether a chunk ends exactly on an event boundary ("\n\n"): no partial event or UTF-8 sequence after it. */
function endsOnBoundary(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n >= 2 && bytes[n - 1] === 10 && bytes[n - 2] === 10;
}

function eventsOf(text: string): SseEvent[] {
  const s = new SseSplitter();
  return [...s.feedText(text), ...s.end()];
}

/**
 * Pipes an upstream SSE body of the client's own shape to the client event by event (never buffering the
 * whole response). It drops the usage event the relay asked for when the client did not, notes the reported
 * usage, and ends the client's stream with an error event when the upstream breaks or stalls or the request
 * is cut. `onEnd` runs exactly once, however the stream ends: normal end, client abort, upstream error, idle
 * timeout or cut.
 *
 * Resolves once the first upstream read is in (or failed), so the response's status line, headers and
 * first events leave in one write rather than the headers alone. And the client's stream is closed as soon
 * as the shape's last event has gone out, in the same write, instead of one more write for the end of the
 * chunked body after the upstream's own end arrives. The upstream is still read to its end (that is when the
 * request is accounted, and its connection is kept for reuse); anything after the last event only counts
 * for usage.
 */
export async function relaySse(opts: StreamOptions): Promise<ReadableStream<Uint8Array>> {
  const { framing } = opts;
  const rewrite = opts.rewrite ?? null;
  const reads = new UpstreamReads(opts.body, opts.abort, opts.idleMs);
  let splitter: SseSplitter | null = null;
  /** What reached the client, kept (undecoded when possible) for a token count if no usage arrives. */
  const forwarded: (string | Uint8Array)[] = [];
  let usage: StreamUsage | null = null;
  /** True while everything read so far ended on an event boundary (so the splitter holds nothing). */
  let aligned = true;
  let ended = false;
  /** The client's stream was closed after the last event; the upstream is being read to its end. */
  let clientDone = false;
  /** Set by a cut: the pull loop sends this error event and ends the stream as `cut`. */
  let cutWith: { code: ErrorCode; message: string } | null = null;

  const forwardedText = () => forwarded.map((f) => (typeof f === "string" ? f : decoder.decode(f))).join("");
  const finish = (end: StreamEnd) => {
    if (ended) return;
    ended = true;
    reads.stop();
    if (usage === null) usage = usageInText(framing, forwardedText());
    opts.onEnd({ end, usage, completionEstimate: estimate });
  };
  const estimate = () => countText(framing.generatedText(eventsOf(forwardedText())));
  const lastComing = () => opts.beforeLast?.(usage ?? usageInText(framing, forwardedText()), estimate);
  const onClientAbort = () => {
    if (clientDone) return; // the client had the whole answer: nothing to abort
    reads.cancel(new Error("client disconnected"));
    finish("client_abort");
  };
  opts.onClientAbort(onClientAbort);
  opts.onCuttable?.((code, message) => {
    if (ended || clientDone || cutWith) return;
    cutWith = { code, message };
    reads.cancel(new Error(code));
  });

  /** Notes the usage of events that carry one; returns the text to forward (without dropped events). */
  const render = (events: SseEvent[]): string => {
    let out = "";
    for (const e of events) {
      if (e.data !== null && e.data !== "[DONE]" && USAGE_VALUE.test(e.data)) {
        try {
          const obj = JSON.parse(e.data);
          usage = framing.usageIn(obj, usage) ?? usage;
          if (framing.dropForClient(obj, opts.clientWantsUsage)) continue;
        } catch {
          /* not JSON: forward as is */
        }
      }
      out += e.raw + "\n\n";
    }
    return out;
  };

  const first = await reads.read();
  return directStream(async (sink: Sink) => {
    const send = sender(sink, onClientAbort);
    // Each event with a usage object is decoded and parsed (to note the usage); one the client did not ask
    // for is cut out. Everything else goes out as the upstream's own bytes, usually in one write. A read that
    // ends with the last event is not flushed: closing the stream right after sends it with the end.
    const sendWhole = (bytes: Uint8Array, last: boolean) => {
      let parts: Uint8Array[] | null = null;
      let from = 0; // bytes before `from` are settled: in `parts`, or cut out
      for (let at = nextNeedle(bytes, framing.usageNeedles, 0); at !== -1;) {
        const prev = lastIndexOf(bytes, BLANK, at);
        const start = prev === -1 ? 0 : prev + 2; // never before `from`: an event boundary ends there
        const end = indexOf(bytes, BLANK, at) + 2; // the read ends on a boundary, so there is one
        const raw = decoder.decode(bytes.subarray(start, end - 2));
        if (render([{ raw, data: dataOf(raw) }]) === "") {
          parts ??= [];
          if (start > from) parts.push(bytes.subarray(from, start));
          from = end;
        }
        at = nextNeedle(bytes, framing.usageNeedles, end);
      }
      if (parts === null) {
        forwarded.push(bytes);
        if (last) lastComing();
        return send(!last, bytes);
      }
      if (from < bytes.length) parts.push(bytes.subarray(from));
      for (const part of parts) forwarded.push(part);
      if (last) lastComing();
      return send(!last, ...parts);
    };
    const failWith = async (end: "idle_timeout" | "upstream_error" | "cut") => {
      const event = end === "cut" && cutWith
        ? framing.errorEvent(cutWith.code, cutWith.message, errorCodes[cutWith.code][0])
        : end === "idle_timeout"
        ? framing.errorEvent("upstream_timeout", `The upstream sent nothing for ${opts.idleMs} ms.`, 504)
        : framing.errorEvent("upstream_error", "The upstream connection was lost mid-stream.", 502);
      const backpressure = send(true, event);
      if (backpressure) await backpressure;
      finish(end);
    };
    for (let step = first; !ended; step = await reads.read()) {
      if (clientDone) {
        // After the last event: read the upstream to its end. Whatever comes still counts for usage, but
        // the client has its whole answer, so a stall or a break now ends the request as done.
        if (reads.idle || "failed" in step || step.r.done) {
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
      if (reads.idle || "failed" in step) {
        await failWith(reads.idle ? "idle_timeout" : "upstream_error");
        break;
      }
      const r = step.r;
      if (r.done) {
        const rendered = splitter ? render(splitter.end()) : "";
        const tail = rewrite && rendered ? rewrite.text(rendered) : rendered;
        if (tail) forwarded.push(tail);
        if (!ended) lastComing(); // the upstream ended: whatever goes out now is the whole answer
        if (tail) {
          const backpressure = send(true, encoder.encode(tail));
          if (backpressure) await backpressure;
        }
        finish("done"); // no-op when the last write found the client gone
        break;
      }
      // Fast path, on the bytes: when this read and every one before it end on an event boundary, the
      // events go out as the upstream's own bytes; only an event with a usage object is decoded and parsed
      // (to note the usage, and drop it if the client did not ask for it).
      const whole = aligned && endsOnBoundary(r.value);
      aligned = endsOnBoundary(r.value);
      if (whole) {
        const last = framing.endsStream(r.value);
        const backpressure = sendWhole(rewrite ? rewrite.bytes(r.value) : r.value, last);
        if (backpressure) await backpressure;
        if (last && !ended) {
          closeQuietly(sink);
          clientDone = true;
        }
        continue;
      }
      // Slow path: a read that ends inside an event (or follows one that did) goes through the splitter.
      const rendered = render((splitter ??= new SseSplitter()).feed(r.value));
      const text = rewrite && rendered ? rewrite.text(rendered) : rendered;
      if (text) {
        forwarded.push(text);
        const bytes = encoder.encode(text);
        if (framing.endsStream(bytes)) lastComing();
        const backpressure = send(true, bytes);
        if (backpressure) await backpressure;
      }
    }
    if (!clientDone) closeQuietly(sink);
  }, onClientAbort);
}

/** The last usage reported in SSE text (for streams the byte search saw none in, e.g. `"usage" : {`). */
function usageInText(framing: StreamFraming, text: string): StreamUsage | null {
  let found: StreamUsage | null = null;
  for (const e of eventsOf(text)) {
    if (e.data === null || e.data === "[DONE]" || !USAGE_VALUE.test(e.data)) continue;
    try {
      found = framing.usageIn(JSON.parse(e.data), found) ?? found;
    } catch {
      /* not JSON */
    }
  }
  return found;
}
