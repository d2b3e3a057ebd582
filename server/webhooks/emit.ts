import type { AppContext } from "../context";
import type { WebhookEventType } from "./events";
import { deliveryOf } from "./payload";

export type { WebhookEventType } from "./events";

/**
 * Queues the event `type` about `objectId` (a response or batch id, as the client knows it) for every
 * enabled endpoint of the account subscribed to it, durably (the delivery rows), and wakes this
 * instance's sender. Idempotent per (endpoint, type, objectId): calling it again for the same object and
 * type, after a crash say, queues nothing new. One indexed read and nothing else when the account has no
 * endpoint.
 *
 * Delivery happens later, elsewhere: nothing about a receiver (down, slow, refusing) ever reaches the
 * caller. It rejects only when the queue itself could not be written (the database is unreachable), and
 * may then be called again.
 */
export async function emitEvent(ctx: AppContext, accountId: number, type: WebhookEventType, objectId: string): Promise<void> {
  const endpoints = (await ctx.stores.webhooks.enabledOf(accountId)).filter((w) => w.events.includes(type));
  if (endpoints.length === 0) return;
  const now = Date.now();
  const queued = await ctx.stores.deliveries.enqueue(endpoints.map((w) => deliveryOf(w.id, type, objectId, { id: objectId }, now)));
  if (queued > 0) ctx.webhooks.nudge();
}
