import type { LiveChannel } from "../channels/registry";
import type { ProviderAdapter } from "../providers/types";

/** Headers never forwarded: hop-by-hop ones (RFC 9110 §7.6.1), the client's credentials, and what fetch sets itself. */
const DROP = new Set([
  "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "trailers",
  "transfer-encoding", "upgrade", "authorization", "cookie", "host", "content-length", "accept-encoding",
  "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip", "forwarded", "x-api-key", "api-key",
]);

/**
 * The headers sent upstream: the client's, minus the ones above, any named in its Connection header and
 * any the provider does not take, plus the channel's own and the provider's credentials. A plain object
 * rather than a Headers: fetch takes either, and building a Headers with a validated set() per header cost
 * about 3% of a relayed request.
 */
export function upstreamHeaders(client: Headers, channel: LiveChannel, adapter: ProviderAdapter, contentType: string | null): Record<string, string> {
  const connection = client.get("connection");
  const named = connection ? connection.toLowerCase().split(",").map((s) => s.trim()) : null;
  const out: Record<string, string> = {};
  for (const [name, value] of client) {
    // Headers yields lower-case names.
    if (!DROP.has(name) && !named?.includes(name) && adapter.forwardsHeader(name)) out[name] = value;
  }
  if (contentType !== null) out["content-type"] = contentType;
  else delete out["content-type"];
  for (const k in channel.row.headers) out[k.toLowerCase()] = channel.row.headers[k]!;
  Object.assign(out, adapter.authHeaders(channel, client));
  // Ask for identity encoding: the relay reads usage out of the body.
  out["accept-encoding"] = "identity";
  return out;
}

export type UpstreamAttempt =
  | {
    kind: "response"; res: Response; ttfbMs: number; abort: AbortController;
    /** Runs `fn` too when the client goes away (after the upstream is aborted), sharing this attempt's one listener. */
    alsoOnClientAbort: (fn: () => void) => void;
  }
  | { kind: "failed"; timeout: boolean; message: string; status?: number; body?: Uint8Array; contentType?: string | null };

/** Statuses after which another channel is tried (if nothing reached the client yet). */
export const isRetryableStatus = (s: number) => s === 429 || s >= 500;

/**
 * Sends one attempt and waits for the response headers, up to the first-byte timeout. A client that goes
 * away aborts it. Never throws: connection errors and timeouts come back as retryable failures.
 */
export async function sendUpstream(
  channel: LiveChannel, url: string, init: { method: string; headers: Record<string, string>; body: BodyInit | null },
  firstByteTimeoutMs: number, clientSignal: AbortSignal,
  /** The attempt's controller; the caller keeps it to cut the attempt short (a revocation). */
  abort = new AbortController(),
): Promise<UpstreamAttempt> {
  let also: (() => void) | null = null;
  const onClientAbort = () => {
    abort.abort(new Error("client disconnected"));
    also?.();
  };
  if (clientSignal.aborted) onClientAbort();
  clientSignal.addEventListener("abort", onClientAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort(new Error("first-byte timeout"));
  }, firstByteTimeoutMs);
  const started = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: abort.signal, redirect: "manual", decompress: true } as RequestInit);
    clearTimeout(timer);
    const alsoOnClientAbort = (fn: () => void) => {
      if (clientSignal.aborted) fn();
      else also = fn;
    };
    return { kind: "response", res, ttfbMs: Math.round(performance.now() - started), abort, alsoOnClientAbort };
  } catch (err) {
    clearTimeout(timer);
    clientSignal.removeEventListener("abort", onClientAbort);
    const message = timedOut ? `no response from ${channel.row.name} within ${firstByteTimeoutMs} ms` : `cannot reach ${channel.row.name}: ${(err as Error).message}`;
    return { kind: "failed", timeout: timedOut, message };
  }
}

/**
 * Reads a whole (non-stream) body, aborting if the upstream goes silent for `idleMs`.
 * Returns null when the body fails or stalls, so the caller can still fail over.
 */
export async function readWithIdleTimeout(res: Response, abort: AbortController, idleMs: number): Promise<Uint8Array | null> {
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  // One timer for the whole body, pushed back after every chunk (no promise race per chunk). When it
  // fires, the upstream is aborted and the pending read ends, as done or as an error.
  let idle = false;
  const timer = setTimeout(() => {
    idle = true;
    abort.abort(new Error("idle timeout"));
    reader.cancel().catch(() => {});
  }, idleMs);
  try {
    for (;;) {
      const r = await reader.read();
      if (idle) return null;
      if (r.done) break;
      chunks.push(r.value);
      timer.refresh();
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}
