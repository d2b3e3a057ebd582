import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { createChannel, deleteChannel, getChannel, listChannels, publicChannel, revealChannelKey, updateChannel } from "../channels/service";
import { testChannel } from "../channels/test-channel";
import { ADMIN_ACTOR } from "./actor";

const channelId = (raw: string) => {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) throw new ApiError("not_found", `no channel with id ${raw}`, "id");
  return id;
};

export const adminChannelRoutes = (ctx: AppContext) =>
  new Elysia({ name: "admin-channels" })
    .get("/channels", () => ({ data: listChannels(ctx).map((c) => publicChannel(ctx, c)) }))
    .get("/channels/:id", ({ params }) => publicChannel(ctx, getChannel(ctx, channelId(params.id))))
    .post("/channels", ({ body }) => publicChannel(ctx, createChannel(ctx, body as never, ADMIN_ACTOR)))
    .patch("/channels/:id", ({ params, body }) => publicChannel(ctx, updateChannel(ctx, channelId(params.id), body as never, ADMIN_ACTOR)))
    .delete("/channels/:id", ({ params }) => {
      deleteChannel(ctx, channelId(params.id), ADMIN_ACTOR);
      return { id: channelId(params.id), deleted: true };
    })
    .post("/channels/:id/test", ({ params }) => testChannel(ctx, channelId(params.id)))
    .post("/channels/:id/reveal", ({ params }) => ({ id: channelId(params.id), apiKey: revealChannelKey(ctx, channelId(params.id), ADMIN_ACTOR) }));
