import type { StreamFraming } from "../../shapes/stream-framing";
import type { Usage } from "../../translate/usage";
import type { ModelRewriter } from "../model-name";
import type { SseEvent } from "../../shapes/stream-framing";

/** An answer as the client gets it. */
export type ClientBody = { bytes: Uint8Array; contentType: string | null };

/** Turns an upstream's event stream into the client's, one whole event at a time (server/translate/). */
export interface StreamTranslator {
  feed(event: SseEvent): string;
  /** The upstream ended: whatever closing events are still owed. */
  end(): string;
  /** The stream breaks mid-way: the client's error event; nothing follows it. */
  fail(code: string, message: string, status: number): string;
  readonly usage: Usage | null;
  /** The client's stream is complete (its last event went out). */
  readonly done: boolean;
  readonly generatedText: string;
}

/** How an event stream reaches the client: as the upstream's own bytes, or through a translator. */
export type StreamPlan =
  | { kind: "pass"; framing: StreamFraming; rewrite: ModelRewriter | null }
  | { kind: "translate"; translator: StreamTranslator; framing: StreamFraming; pingEveryMs: number | null };

/**
 * How one request goes to one channel and how its answer comes back: the client's own shape passed
 * through (only the model id changed), or translated between the OpenAI and Anthropic shapes.
 */
export interface Conversion {
  /** The path (`/v1/…`) and query the adapter addresses upstream. */
  readonly path: string;
  readonly search: string;
  /** The body sent upstream. */
  body(): { body: BodyInit | null; contentType: string | null };
  /** A whole successful answer as the client gets it, with its usage. */
  answer(bytes: Uint8Array, contentType: string | null): ClientBody & { usage: Usage | null };
  /** An upstream's error answer (any status) as the client gets it: as it was, or in the client's envelope. */
  upstreamError(status: number, bytes: Uint8Array, contentType: string | null): ClientBody;
  /** How a successful event stream reaches the client. */
  stream(): StreamPlan;
  /**
   * The upstream refused the output-cap field relay chose (a reasoning model that wants
   * max_completion_tokens, or a provider that knows only max_tokens): switch to the other one for a
   * retry on the same channel. False when there is nothing to switch.
   */
  switchMaxTokensField?(errorText: string): boolean;
}

/** What a conversion needs to know about the request. */
export type ConversionInput = {
  path: string;
  search: string;
  kind: import("../endpoint").EndpointKind;
  body: import("../parse").RelayBody;
  /** The model the client asked for, and the id sent upstream (they differ for aliases). */
  clientModel: string;
  upstreamModel: string;
  /** The output cap relay sets when the client set none (from the hold), else null. */
  injectMaxOutput: number | null;
  requestId: string;
  /** RELAY_STREAM_PING_MS: pings for an Anthropic client while a translated upstream is silent. */
  pingEveryMs: number;
};
