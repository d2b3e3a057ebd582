import { errorCodes, type ErrorCode } from "../../errors";
import type { StreamFraming } from "../../shapes/stream-framing";
import type { StreamTranslator } from "../conversions/types";
import { SseSplitter } from "../sse";
import { countText } from "../tokens";
import { closeQuietly, directStream, sender, type Sink } from "./client-sink";
import type { StreamEnd, StreamResult } from "./passthrough";
import { UpstreamReads } from "./upstream-reads";

const encoder = new TextEncoder();
const PING = encoder.encode(`event: ping\ndata: {"type":"ping"}\n\n`);

export type TranslatedStreamOptions = {
  body: ReadableStream<Uint8Array>;
  abort: AbortController;
  idleMs: number;
  translator: StreamTranslator;
  /** The client's shape: its error events. */
  framing: StreamFraming;
  /** Send `event: ping` after this long without an upstream byte (Anthropic clients); null: never. */
  pingEveryMs: number | null;
  onClientAbort: (fn: () => void) => void;
  onCuttable?: (cut: (code: ErrorCode, message: string) => void) => void;
  onEnd: (r: StreamResult) => void;
  /** Runs just before the write that gives the client the whole answer, with the usage so far. */
  beforeLast?: (usage: StreamResult["usage"], completionEstimate: () => number) => void;
};

/**
 * Relays an upstream event stream of another shape: every upstream event is parsed and translated
 * (server/translate/), the client gets the translator's events. Otherwise as the pass-through relay: one
 * `onEnd` however it ends, errors as the client's error event, the client's stream closed at its last event
 * while the upstream is read to its end.
 *
 * With `pingEveryMs`, the response starts at once rather than after the first upstream read, and an
 * upstream that stays silent (a model thinking before its first token) is covered by pings, so clients that
 * give up on a silent connection keep waiting.
 */
export async function relayTranslated(opts: TranslatedStreamOptions): Promise<ReadableStream<Uint8Array>> {
  const { translator: t, framing } = opts;
  const reads = new UpstreamReads(opts.body, opts.abort, opts.idleMs);
  const splitter = new SseSplitter();
  let ended = false;
  let clientDone = false;
  let cutWith: { code: ErrorCode; message: string } | null = null;
  let pinger: ReturnType<typeof setInterval> | null = null;
  let lastUpstreamAt = performance.now();

  const finish = (end: StreamEnd) => {
    if (ended) return;
    ended = true;
    reads.stop();
    if (pinger) clearInterval(pinger);
    opts.onEnd({ end, usage: t.usage, completionEstimate: estimate });
  };
  const estimate = () => countText(t.generatedText);
  const onClientAbort = () => {
    if (clientDone) return;
    reads.cancel(new Error("client disconnected"));
    finish("client_abort");
  };
  opts.onClientAbort(onClientAbort);
  opts.onCuttable?.((code, message) => {
    if (ended || clientDone || cutWith) return;
    cutWith = { code, message };
    reads.cancel(new Error(code));
  });

  const first = opts.pingEveryMs === null ? await reads.read() : null;
  return directStream(async (sink: Sink) => {
    const send = sender(sink, onClientAbort);
    const write = async (text: string, flush = true) => {
      if (!text) return;
      const backpressure = send(flush, encoder.encode(text));
      if (backpressure) await backpressure;
    };
    if (opts.pingEveryMs !== null) {
      const every = opts.pingEveryMs;
      pinger = setInterval(() => {
        if (!ended && !clientDone && reads.waiting && performance.now() - lastUpstreamAt >= every) send(true, PING);
      }, Math.max(100, Math.floor(every / 3)));
      pinger.unref?.();
    }
    const failWith = async (end: "idle_timeout" | "upstream_error" | "cut", code: string, message: string, status: number) => {
      const tail = t.fail(code, message, status);
      await write(tail + new TextDecoder().decode(framing.errorEvent(code, message, status)));
      finish(end);
    };
    for (let step = first ?? (await reads.read()); !ended; step = await reads.read()) {
      lastUpstreamAt = performance.now();
      if (clientDone) {
        // The client has its whole answer; what the upstream still sends only counts for usage.
        if (reads.idle || "failed" in step || step.r.done) {
          finish("done");
          break;
        }
        for (const e of splitter.feed(step.r.value)) t.feed(e);
        continue;
      }
      if (cutWith) {
        await failWith("cut", cutWith.code, cutWith.message, errorCodes[cutWith.code][0]);
        break;
      }
      if (reads.idle) {
        await failWith("idle_timeout", "upstream_timeout", `The upstream sent nothing for ${opts.idleMs} ms.`, 504);
        break;
      }
      if ("failed" in step) {
        await failWith("upstream_error", "upstream_error", "The upstream connection was lost mid-stream.", 502);
        break;
      }
      if (step.r.done) {
        let out = "";
        for (const e of splitter.end()) out += t.feed(e);
        out += t.end();
        opts.beforeLast?.(t.usage, estimate);
        await write(out);
        finish("done");
        break;
      }
      let out = "";
      for (const e of splitter.feed(step.r.value)) out += t.feed(e);
      if (t.done) opts.beforeLast?.(t.usage, estimate);
      await write(out, !t.done);
      if (t.done && !ended) {
        closeQuietly(sink);
        clientDone = true;
      }
    }
    if (!clientDone) closeQuietly(sink);
  }, onClientAbort);
}
