import type { AppContext } from "../context";
import type { WebhookDeliveryRow, WebhookRow } from "../../db/schema";
import type { NewAttempt } from "../stores/types";
import { checkWebhookUrl } from "./url-guard";
import { liveSecrets } from "./secrets";
import { signedHeaders } from "./signing";

/** A receiver that has not answered within this long has failed the attempt. */
export const ATTEMPT_TIMEOUT_MS = 10_000;

/**
 * One attempt to deliver: the URL checked again (what it resolves to may have changed since), the body
 * signed with every live secret at this moment's timestamp, and POSTed without following redirects. A 2xx
 * is delivered; anything else, a 3xx included, is a failure with its status or error. Never throws.
 */
export async function sendOnce(ctx: AppContext, w: WebhookRow, d: WebhookDeliveryRow, stop: AbortSignal): Promise<NewAttempt> {
  const at = Date.now();
  const done = (status: number | null, error: string | null): NewAttempt => ({ at, status, error, durationMs: Date.now() - at });
  const verdict = await checkWebhookUrl(w.url, ctx.config.RELAY_WEBHOOK_ALLOW_PRIVATE);
  if (!verdict.ok) return done(null, `refused: ${verdict.reason}`);
  let headers: Record<string, string>;
  try {
    headers = signedHeaders(liveSecrets(ctx, w, at), d.eventId, Math.floor(at / 1000), d.payload);
  } catch {
    return done(null, "cannot decrypt the endpoint's secret with this relay's master key");
  }
  const timeout = AbortSignal.timeout(ATTEMPT_TIMEOUT_MS);
  try {
    const res = await fetch(w.url, {
      method: "POST", headers: { ...headers, "user-agent": "relay-webhooks" }, body: d.payload,
      redirect: "manual", signal: AbortSignal.any([timeout, stop]),
    });
    await res.body?.cancel().catch(() => {});
    if (res.status >= 200 && res.status < 300) return done(res.status, null);
    if (res.status >= 300 && res.status < 400) return done(res.status, `HTTP ${res.status}: redirects are not followed; register the final URL`);
    return done(res.status, `HTTP ${res.status}`);
  } catch (err) {
    if (timeout.aborted) return done(null, `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s`);
    if (stop.aborted) return done(null, "relay stopped during the attempt");
    return done(null, `connection failed: ${(err as { code?: string }).code ?? (err as Error)?.message ?? String(err)}`);
  }
}
