import { asc, eq } from "drizzle-orm";
import { channels, type ChannelRow } from "../../db/schema";
import { ApiError } from "../errors";
import { recordAudit } from "../audit/audit";
import type { AppContext } from "../context";
import { channelAad } from "../keyring/rotate";
import { createChannelInput, updateChannelInput, type CreateChannelInput, type UpdateChannelInput } from "./model";

/** A channel as admins see it: never the upstream key, with its live health. */
export function publicChannel(ctx: AppContext, c: ChannelRow) {
  const { apiKeyCiphertext: _secret, ...rest } = c;
  return { ...rest, createdAt: new Date(c.createdAt).toISOString(), health: ctx.channels.breaker(c.id).view() };
}

export function listChannels(ctx: AppContext): ChannelRow[] {
  return ctx.db.select().from(channels).orderBy(asc(channels.id)).all();
}

export function getChannel(ctx: AppContext, id: number): ChannelRow {
  const row = Number.isSafeInteger(id) ? ctx.db.select().from(channels).where(eq(channels.id, id)).get() : undefined;
  if (!row) throw new ApiError("not_found", `no channel with id ${id}`, "id");
  return row;
}

function assertNameFree(ctx: AppContext, name: string, selfId?: number): void {
  const other = ctx.db.select({ id: channels.id }).from(channels).where(eq(channels.name, name)).get();
  if (other && other.id !== selfId) throw new ApiError("conflict", `a channel named ${name} already exists`, "name");
}

export function createChannel(ctx: AppContext, raw: CreateChannelInput, actor: string): ChannelRow {
  const input = createChannelInput.parse(raw);
  assertNameFree(ctx, input.name);
  const { apiKey, ...fields } = input;
  const row = ctx.db.$client.transaction(() => {
    const inserted = ctx.db.insert(channels).values({ ...fields, apiKeyCiphertext: "pending" }).returning().get();
    const apiKeyCiphertext = ctx.keyring.encrypt(apiKey, channelAad(inserted.id));
    ctx.db.update(channels).set({ apiKeyCiphertext }).where(eq(channels.id, inserted.id)).run();
    recordAudit(ctx, actor, "channel.create", `channel:${inserted.id}`, { name: input.name, type: input.type, group: input.group, baseUrl: input.baseUrl, models: input.models });
    return { ...inserted, apiKeyCiphertext };
  }).immediate();
  ctx.channels.reload();
  return row;
}

export function updateChannel(ctx: AppContext, id: number, raw: UpdateChannelInput, actor: string): ChannelRow {
  const input = updateChannelInput.parse(raw);
  const current = getChannel(ctx, id);
  if ((input.type ?? current.type) === "azure" && !(input.apiVersion !== undefined ? input.apiVersion : current.apiVersion)) {
    throw new ApiError("invalid_request", "apiVersion: is required for an azure channel (e.g. --api-version 2024-10-21)", "apiVersion");
  }
  if (input.name) assertNameFree(ctx, input.name, id);
  const { apiKey, ...fields } = input;
  ctx.db.$client.transaction(() => {
    const secret = apiKey === undefined ? {} : { apiKeyCiphertext: ctx.keyring.encrypt(apiKey, channelAad(id)) };
    ctx.db.update(channels).set({ ...fields, ...secret }).where(eq(channels.id, id)).run();
    recordAudit(ctx, actor, "channel.update", `channel:${id}`, { name: current.name, changed: Object.keys(input), enabled: input.enabled });
  }).immediate();
  ctx.channels.reload();
  return getChannel(ctx, id);
}

export function deleteChannel(ctx: AppContext, id: number, actor: string): void {
  const current = getChannel(ctx, id);
  ctx.db.$client.transaction(() => {
    ctx.db.delete(channels).where(eq(channels.id, id)).run();
    recordAudit(ctx, actor, "channel.delete", `channel:${id}`, { name: current.name });
  }).immediate();
  ctx.channels.reload();
}

/** Admin-only: the decrypted upstream key. Audited without the secret. */
export function revealChannelKey(ctx: AppContext, id: number, actor: string): string {
  const row = getChannel(ctx, id);
  const key = ctx.keyring.decrypt(row.apiKeyCiphertext, channelAad(id));
  recordAudit(ctx, actor, "channel.reveal", `channel:${id}`, { name: row.name });
  return key;
}
