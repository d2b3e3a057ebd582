import { z } from "zod";
import { strictObject } from "../http/strict-object";
import { webhookEventType } from "./events";
import type { WebhookDeliveryRow, WebhookRow } from "../../db/schema";
import type { DeliveryView } from "../stores/types";

/** An account may register this many endpoints. */
export const MAX_WEBHOOKS_PER_ACCOUNT = 20;

/** `POST /v1/webhooks` (and the org route, and the admin socket with its owner fields). */
export const createWebhookBody = strictObject({
  url: z.string().max(2048),
  events: z.array(webhookEventType).min(1, "subscribe to at least one event").max(32).transform((e) => [...new Set(e)]),
  credits_below: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});
export type CreateWebhook = z.infer<typeof createWebhookBody>;

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

/** An endpoint as its owner and admins see it: never a secret, and times in seconds, as OpenAI's objects. */
export function publicWebhook(w: WebhookRow) {
  return {
    id: w.id, object: "webhook", url: w.url, events: w.events, credits_below: w.creditsBelow,
    enabled: w.enabled, disabled_reason: w.disabledReason, failing_since: seconds(w.failingSince), created_at: seconds(w.createdAt),
  };
}

export function publicDelivery(d: DeliveryView | (WebhookDeliveryRow & { url?: string })) {
  return {
    id: d.id, object: "webhook.delivery", event_id: d.eventId, webhook_id: d.webhookId, url: d.url, type: d.type, object_id: d.objectId,
    status: d.status, attempts: d.attempts, last_status: d.lastStatus, last_error: d.lastError,
    next_attempt_at: d.status === "pending" ? seconds(d.nextAttemptAt) : null, created_at: seconds(d.createdAt), updated_at: seconds(d.updatedAt),
  };
}
