import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { adapterOf } from "../providers";
import { upstreamHeaders } from "../relay/upstream";

/**
 * Sends the smallest real request of the channel's type straight to it (bypassing routing and billing) and
 * reports latency or the error.
 */
export async function testChannel(ctx: AppContext, id: number): Promise<{ ok: boolean; latencyMs: number; status?: number; model?: string; error?: string }> {
  const channel = ctx.channels.all().find((c) => c.row.id === id);
  if (!channel) throw new ApiError("not_found", `no channel with id ${id} (or its key does not decrypt)`, "id");
  const alias = channel.row.models[0] ?? Object.keys(channel.row.modelMap)[0];
  if (!alias) return { ok: false, latencyMs: 0, error: "the channel serves no models" };
  const model = channel.row.modelMap[alias] ?? alias;
  const started = performance.now();
  try {
    const adapter = adapterOf(channel);
    const probe = adapter.probe(model);
    const res = await fetch(adapter.url(channel, { path: probe.path, search: "", upstreamModel: model }), {
      method: "POST",
      headers: upstreamHeaders(new Headers(), channel, adapter, "application/json"),
      body: JSON.stringify(probe.body),
      signal: AbortSignal.timeout(channel.row.firstByteTimeoutMs ?? Math.min(ctx.config.RELAY_FIRST_BYTE_TIMEOUT_MS, 30_000)),
    });
    const text = await res.text();
    const latencyMs = Math.round(performance.now() - started);
    if (res.ok) {
      channel.breaker.onSuccess();
      return { ok: true, latencyMs, status: res.status, model };
    }
    let message = text.slice(0, 300);
    try {
      message = JSON.parse(text)?.error?.message ?? message; // the OpenAI and the Anthropic envelope alike
    } catch {
      /* keep the raw text */
    }
    return { ok: false, latencyMs, status: res.status, model, error: `HTTP ${res.status}: ${message}` };
  } catch (err) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), model, error: (err as Error).message };
  }
}
