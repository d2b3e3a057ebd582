import type { LiveChannel } from "../channels/registry";
import { adapterOf } from "../providers";
import { upstreamHeaders } from "../relay/upstream";

/** How long relay waits on its own reads of an object upstream (polls, output files). */
const READ_TIMEOUT_MS = 30_000;

/**
 * Relay's own GET of an object's path on the channel that holds it (a poll, a batch's output file): with the
 * channel's credentials, no client headers, and a timeout. Throws on a network failure or timeout.
 */
export function upstreamGet(channel: LiveChannel, path: string): Promise<Response> {
  const adapter = adapterOf(channel);
  const url = adapter.url(channel, { path, search: "", upstreamModel: "" });
  return fetch(url, { headers: upstreamHeaders(new Headers(), channel, adapter, null), signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
}
