import type { AppContext } from "../context";
import type { LiveChannel } from "../channels/registry";
import type { Principal } from "../auth/authenticate";
import { ApiError } from "../errors";
import { adapterOf } from "../providers";
import { orderCandidates } from "../relay/select";

/** The channel holding an object, or the 409 that says it cannot be reached (never another channel: it has never seen the object). */
export function holdingChannel(ctx: AppContext, channelId: number, kind: string): LiveChannel {
  const c = ctx.channels.all().find((x) => x.row.id === channelId);
  if (!c || !c.row.enabled) {
    throw new ApiError("object_channel_unavailable", `The channel that holds this ${kind} is disabled or was deleted, so relay cannot reach the ${kind}; ask the relay's operator to enable that channel.`);
  }
  return c;
}

/** Where a new object without a model (a file) goes: an OpenAI-shaped channel of the key's group, by priority and weight. */
export function channelForNew(ctx: AppContext, principal: Principal, kind: string): LiveChannel {
  const group = principal.entry?.key.group ?? "either";
  const fit = ctx.channels.all().filter((c) => c.row.enabled && (group === "either" || c.row.group === group) && adapterOf(c).shape === "openai");
  const first = orderCandidates(fit)[0];
  if (!first) throw new ApiError("invalid_request", `This relay has no OpenAI-compatible channel your key may use to keep a ${kind} on; ask the relay's operator to add one.`);
  return first;
}

/** Finds the caller's object: another account's id and an unknown one get the same 404. */
export async function ownedObject(ctx: AppContext, principal: Principal, kind: string, id: string) {
  const o = await ctx.stores.objects.find(kind, id, principal.accountId);
  if (!o) throw new ApiError("not_found", `No ${kind} found with id '${id.slice(0, 200)}'.`);
  return o;
}
