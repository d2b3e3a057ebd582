import type { AppContext } from "../context";
import type { Principal } from "../auth/authenticate";
import type { LiveChannel } from "../channels/registry";
import { holdingChannel, ownedObject } from "./channels";

const utf8 = new TextDecoder();

/**
 * A model call that creates an object upstream (POST /v1/responses, stored unless `store: false`): recorded
 * before its answer goes out, so the client's first follow-up already finds it.
 */
export async function recordModelObject(ctx: AppContext, principal: Principal, channel: LiveChannel, body: Record<string, unknown>, answer: Uint8Array, prepaid = 0, requestId: string | null = null): Promise<void> {
  if (body.store === false && prepaid === 0) return;
  let created: Record<string, unknown>;
  try {
    created = JSON.parse(utf8.decode(answer));
  } catch {
    return;
  }
  if (typeof created?.id !== "string") return;
  await ctx.stores.objects.record({
    kind: "response", upstreamId: created.id, channelId: channel.row.id, accountId: principal.accountId, keyId: principal.entry?.key.id ?? null,
    status: typeof created.status === "string" ? created.status : null, meta: null,
    prepaid, model: typeof body.model === "string" ? body.model : null, requestId,
  });
}

/** Records a response by its id (a streamed one: the id comes from its first event). */
export async function recordResponseId(ctx: AppContext, principal: Principal, channel: LiveChannel, id: string): Promise<void> {
  await ctx.stores.objects.record({
    kind: "response", upstreamId: id, channelId: channel.row.id, accountId: principal.accountId, keyId: principal.entry?.key.id ?? null, status: null, meta: null,
  });
}

/** The channel a follow-up model call must go to (`previous_response_id`): the caller's response's, or its 404/409. */
export async function pinnedChannel(ctx: AppContext, principal: Principal, previousResponseId: string): Promise<LiveChannel> {
  const o = await ownedObject(ctx, principal, "response", previousResponseId);
  return holdingChannel(ctx, o.channelId, "response");
}
