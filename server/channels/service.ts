import type { ChannelRow } from "../../db/schema";
import { ApiError } from "../errors";
import { recordAudit } from "../audit/audit";
import type { AppContext } from "../context";
import { channelAad } from "../keyring/aad";
import { StoreConflict } from "../stores/types";
import { createChannelInput, updateChannelInput, type CreateChannelInput, type UpdateChannelInput } from "./model";

/** A channel as admins see it: never the upstream key, with its live health. */
export function publicChannel(ctx: AppContext, c: ChannelRow) {
  const { apiKeyCiphertext: _secret, ...rest } = c;
  return { ...rest, createdAt: new Date(c.createdAt).toISOString(), health: ctx.channels.breaker(c.id).view() };
}

export function listChannels(ctx: AppContext): Promise<ChannelRow[]> {
  return ctx.stores.channels.list();
}

export async function getChannel(ctx: AppContext, id: number): Promise<ChannelRow> {
  const row = await ctx.stores.channels.get(id);
  if (!row) throw new ApiError("not_found", `no channel with id ${id}`, "id");
  return row;
}

const nameTaken = (name: string) => new ApiError("conflict", `a channel named ${name} already exists`, "name");

export async function createChannel(ctx: AppContext, raw: CreateChannelInput, actor: string): Promise<ChannelRow> {
  const input = createChannelInput.parse(raw);
  const { apiKey, ...fields } = input;
  try {
    const row = await ctx.stores.channels.create(fields, (id) => ctx.keyring.encrypt(apiKey, channelAad(id)), (c) => ({
      actor, action: "channel.create", target: `channel:${c.id}`, detail: { name: input.name, type: input.type, group: input.group, baseUrl: input.baseUrl, models: input.models },
    }));
    await ctx.channels.reload();
    return row;
  } catch (err) {
    if (err instanceof StoreConflict && err.kind === "NameTaken") throw nameTaken(input.name);
    throw err;
  }
}

export async function updateChannel(ctx: AppContext, id: number, raw: UpdateChannelInput, actor: string): Promise<ChannelRow> {
  const input = updateChannelInput.parse(raw);
  const current = await getChannel(ctx, id);
  if ((input.type ?? current.type) === "azure" && !(input.apiVersion !== undefined ? input.apiVersion : current.apiVersion)) {
    throw new ApiError("invalid_request", "apiVersion: is required for an azure channel (e.g. --api-version 2024-10-21)", "apiVersion");
  }
  const { apiKey, ...fields } = input;
  const secret = apiKey === undefined ? {} : { apiKeyCiphertext: ctx.keyring.encrypt(apiKey, channelAad(id)) };
  try {
    await ctx.stores.channels.update(id, { ...fields, ...secret }, {
      actor, action: "channel.update", target: `channel:${id}`, detail: { name: current.name, changed: Object.keys(input), enabled: input.enabled },
    });
  } catch (err) {
    if (err instanceof StoreConflict && err.kind === "NameTaken") throw nameTaken(input.name!);
    throw err;
  }
  await ctx.channels.reload();
  return getChannel(ctx, id);
}

export async function deleteChannel(ctx: AppContext, id: number, actor: string): Promise<void> {
  const current = await getChannel(ctx, id);
  await ctx.stores.channels.delete(id, { actor, action: "channel.delete", target: `channel:${id}`, detail: { name: current.name } });
  await ctx.channels.reload();
}

/** Admin-only: the decrypted upstream key. Audited without the secret. */
export async function revealChannelKey(ctx: AppContext, id: number, actor: string): Promise<string> {
  const row = await getChannel(ctx, id);
  const key = ctx.keyring.decrypt(row.apiKeyCiphertext, channelAad(id));
  await recordAudit(ctx, actor, "channel.reveal", `channel:${id}`, { name: row.name });
  return key;
}
