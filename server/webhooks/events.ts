import { z } from "zod";

/**
 * The events an endpoint can subscribe to: OpenAI's names for responses and batches, and relay's own
 * `credits.low` (the account's available balance fell below the endpoint's `credits_below`).
 */
export const WEBHOOK_EVENT_TYPES = [
  "response.completed", "response.failed", "response.cancelled", "response.incomplete",
  "batch.completed", "batch.failed", "batch.cancelled", "batch.expired",
  "credits.low",
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const webhookEventType = z.enum(WEBHOOK_EVENT_TYPES, {
  error: (issue) => `unknown event '${String(issue.input).slice(0, 60)}'; the events are: ${WEBHOOK_EVENT_TYPES.join(", ")}`,
});

/** The thin body every delivery carries: the receiver fetches the object itself, with its own key. */
export type EventPayload = { id: string; object: "event"; type: WebhookEventType; created_at: number; data: { id: string } & Record<string, unknown> };
