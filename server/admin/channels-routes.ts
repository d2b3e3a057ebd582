import { viewOf } from "../cluster/view";
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
    .get("/channels", async () => ({ data: (await listChannels(ctx)).map((c) => publicChannel(ctx, c)), view: viewOf(ctx) }))
    .get("/channels/:id", async ({ params }) => publicChannel(ctx, await getChannel(ctx, channelId(params.id))))
    .post("/channels", async ({ body }) => publicChannel(ctx, await createChannel(ctx, body as never, ADMIN_ACTOR)))
    .patch("/channels/:id", async ({ params, body }) => publicChannel(ctx, await updateChannel(ctx, channelId(params.id), body as never, ADMIN_ACTOR)))
    .delete("/channels/:id", async ({ params }) => {
      await deleteChannel(ctx, channelId(params.id), ADMIN_ACTOR);
      return { id: channelId(params.id), deleted: true };
    })
    .post("/channels/:id/test", ({ params }) => testChannel(ctx, channelId(params.id)))
    .post("/channels/:id/reveal", async ({ params }) => ({ id: channelId(params.id), apiKey: await revealChannelKey(ctx, channelId(params.id), ADMIN_ACTOR) }));
