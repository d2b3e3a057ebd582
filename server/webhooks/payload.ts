import { randomBytes } from "node:crypto";
import type { NewDelivery } from "../stores/types";
import type { EventPayload, WebhookEventType } from "./events";

/** An event id: the payload's `id` and the `webhook-id` header, the same on every retry. */
export const newEventId = () => "evt_" + randomBytes(16).toString("hex");

/**
 * One delivery of one event to one endpoint, due at once. The body is fixed here, as it will be signed
 * and sent on every attempt: `created_at` in seconds, `data` as thin as the event allows.
 */
export function deliveryOf(webhookId: number, type: WebhookEventType, objectId: string, data: EventPayload["data"], now: number): NewDelivery {
  const eventId = newEventId();
  const payload: EventPayload = { id: eventId, object: "event", type, created_at: Math.floor(now / 1000), data };
  return { eventId, webhookId, type, objectId, payload: JSON.stringify(payload), nextAttemptAt: now };
}
