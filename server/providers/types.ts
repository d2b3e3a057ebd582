import type { LiveChannel } from "../channels/registry";

/** The API shapes relay speaks, to clients and to upstreams. */
export type ApiShape = "openai" | "anthropic";

/** What a request looks like upstream: the client's path (`/v1/…`) and query, and the model id sent. */
export type UpstreamTarget = { path: string; search: string; upstreamModel: string };

/**
 * One channel type: how to reach a provider. Everything else (routing, limits, metering, streams) is shared.
 * Adapters of OpenAI-compatible providers differ only in URL and credentials; a provider of another shape
 * is reached through the translators (server/translate/) when the client's shape differs.
 */
export interface ProviderAdapter {
  /** The API shape the channel speaks: a client of the same shape is passed through untouched. */
  readonly shape: ApiShape;
  /** The upstream URL for a client path. */
  url(channel: LiveChannel, target: UpstreamTarget): string;
  /** This provider's credentials and protocol headers, set over the forwarded client headers. */
  authHeaders(channel: LiveChannel, client: Headers): Record<string, string>;
  /** Whether a client header (lower-case name) may reach this provider at all (`anthropic-*` only reaches Anthropic). */
  forwardsHeader(name: string): boolean;
  /** The smallest real request, for `relay admin channel test`: a path (`/v1/…`) and a body. */
  probe(model: string): { path: string; body: Record<string, unknown> };
}
