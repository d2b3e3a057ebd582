import type { AppContext } from "../context";
import type { LiveChannel } from "../channels/registry";
import { ApiError } from "../errors";
import { readBody } from "../http/body";
import { adapterOf } from "../providers";
import { readWithIdleTimeout, sendUpstream, upstreamHeaders } from "../relay/upstream";

const utf8 = new TextDecoder();

/** One attempt on one channel; the upstream's answer as it came (status, type, bytes), or 502/504. */
export async function forward(ctx: AppContext, request: Request, requestId: string, channel: LiveChannel, url: URL, read?: Uint8Array): Promise<{ status: number; bytes: Uint8Array; response: Response }> {
  const body = request.method === "GET" || request.method === "HEAD" ? null : read ?? await readBody(request, ctx.config.RELAY_MAX_BODY_BYTES);
  const adapter = adapterOf(channel);
  const contentType = request.headers.get("content-type");
  const a = await sendUpstream(channel, adapter.url(channel, { path: url.pathname.replace(/^.*?\/v1\//, "/v1/"), search: url.search, upstreamModel: "" }),
    { method: request.method, headers: upstreamHeaders(request.headers, channel, adapter, body && body.byteLength > 0 ? contentType : null), body: body && body.byteLength > 0 ? (body as Uint8Array<ArrayBuffer>) : null },
    channel.row.firstByteTimeoutMs ?? ctx.config.RELAY_FIRST_BYTE_TIMEOUT_MS, request.signal);
  if (a.kind === "failed") {
    channel.breaker.onFailure(a.message);
    throw a.timeout
      ? new ApiError("upstream_timeout", `The channel holding this object did not answer in time; try again.`)
      : new ApiError("upstream_error", `The channel holding this object could not be reached; try again. Ask the relay's operator about request ${requestId}.`);
  }
  const bytes = await readWithIdleTimeout(a.res, a.abort, channel.row.idleTimeoutMs ?? ctx.config.RELAY_STREAM_IDLE_TIMEOUT_MS);
  if (bytes === null) throw new ApiError("upstream_timeout", "The channel holding this object stopped answering; try again.");
  if (a.res.status >= 500) channel.breaker.onFailure(`${channel.row.name}: HTTP ${a.res.status}`);
  else channel.breaker.onSuccess();
  const headers: Record<string, string> = { "x-request-id": requestId };
  const type = a.res.headers.get("content-type");
  if (type) headers["content-type"] = type;
  const disposition = a.res.headers.get("content-disposition");
  if (disposition) headers["content-disposition"] = disposition;
  return { status: a.res.status, bytes, response: new Response(bytes as Uint8Array<ArrayBuffer>, { status: a.res.status, headers }) };
}

/** A JSON object answer, or null. */
export function jsonOf(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const v = JSON.parse(utf8.decode(bytes));
    return v && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}
