import type { ProviderAdapter } from "../types";

/** What relay sends when the client named no version (Anthropic's stable one). */
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

/**
 * Anthropic's native Messages API. The base URL is what Anthropic's SDK takes, without /v1
 * (https://api.anthropic.com); one given with a trailing /v1 works too. The key goes in `x-api-key`; the
 * client's `anthropic-version`, `anthropic-beta` and other `anthropic-*` headers are forwarded verbatim.
 */
export const anthropicAdapter: ProviderAdapter = {
  shape: "anthropic",
  url(channel, { path, search }) {
    const base = channel.row.baseUrl.endsWith("/v1") ? channel.row.baseUrl.slice(0, -3) : channel.row.baseUrl;
    return base + path + search;
  },
  authHeaders(channel, client) {
    return { "x-api-key": channel.apiKey, "anthropic-version": client.get("anthropic-version") ?? DEFAULT_ANTHROPIC_VERSION };
  },
  forwardsHeader(name) {
    return !name.startsWith("openai-");
  },
  probe(model) {
    return { path: "/v1/messages", body: { model, max_tokens: 1, messages: [{ role: "user", content: "ping" }] } };
  },
};
