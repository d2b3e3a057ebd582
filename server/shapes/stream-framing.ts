import type { Usage } from "../translate/usage";

/** Token counts a stream reported, as the relay meters them. */
export type StreamUsage = Usage;

/** One SSE event as the splitter yields it: its raw text (with any `event:` line) and its data payload. */
export type SseEvent = { raw: string; data: string | null };

/**
 * What the stream relay must know about an API shape's event stream: where usage is reported, which
 * events the relay added for itself and drops again, how the stream ends, and how relay says it failed.
 * One per inbound shape (server/shapes/<shape>/stream-framing.ts); the relay's byte-level fast path is the
 * same for all of them.
 */
export interface StreamFraming {
  /** Byte sequences that start a usage object (`"usage":{`): only events holding one are parsed. */
  readonly usageNeedles: readonly Uint8Array[];
  /** The usage in one event's JSON merged into what came before, or null when the event holds none. */
  usageIn(obj: unknown, before: StreamUsage | null): StreamUsage | null;
  /** Whether relay cuts this event from the client's stream (the usage chunk it asked for and the client did not). */
  dropForClient(obj: unknown, clientWantsUsage: boolean): boolean;
  /** Whether a read ends with the stream's last event (after which the client's stream is closed at once). */
  endsStream(bytes: Uint8Array): boolean;
  /** The event relay writes when it ends a stream early (upstream broke or stalled, revocation), in this shape's envelope. */
  errorEvent(code: string, message: string, status: number): Uint8Array;
  /** The generated text in forwarded events, for the tokenizer's estimate when no usage arrives. */
  generatedText(events: readonly SseEvent[]): string;
}

const indexOf = (bytes: Uint8Array, what: Uint8Array, from: number): number => Buffer.prototype.indexOf.call(bytes, what, from);

/** Where the next of `needles` starts in `bytes` from `from` on, or -1: one native search per needle. */
export function nextNeedle(bytes: Uint8Array, needles: readonly Uint8Array[], from: number): number {
  let best = -1;
  for (const n of needles) {
    const at = indexOf(bytes, n, from);
    if (at !== -1 && (best === -1 || at < best)) best = at;
  }
  return best;
}
