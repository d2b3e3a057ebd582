import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { deletePrice, listPrices, setPrice } from "../billing/prices";
import { grantCredits } from "../billing/credits";
import { listLedgerWithObjects } from "../billing/ledger";
import { getUserByName } from "../users/service";
import { orgByName } from "../accounts/store";
import { ADMIN_ACTOR } from "./actor";
import { strictObject } from "../http/strict-object";

export const grantBody = strictObject({
  amount: z.number().int().refine((n) => n !== 0, "must not be 0"),
  note: z.string().max(500).default(""),
  /** Idempotency key: the same ref is applied once. */
  ref: z.string().min(1).max(200).optional(),
});

const iso = <T extends { at?: number; updatedAt?: number }>(r: T) => ({
  ...r,
  ...(r.at !== undefined ? { at: new Date(r.at).toISOString() } : {}),
  ...(r.updatedAt !== undefined ? { updatedAt: new Date(r.updatedAt).toISOString() } : {}),
});

export const adminBillingRoutes = (ctx: AppContext) =>
  new Elysia({ name: "admin-billing" })
    .get("/prices", async () => ({ data: (await listPrices(ctx)).map(iso) }))
    .put("/prices/*", async ({ params, body }) => iso(await setPrice(ctx, decodeURIComponent((params as { "*": string })["*"]), body, ADMIN_ACTOR)))
    .delete("/prices/*", async ({ params }) => {
      const model = decodeURIComponent((params as { "*": string })["*"]);
      await deletePrice(ctx, model, ADMIN_ACTOR);
      return { model, deleted: true };
    })
    .post("/users/:name/credits", async ({ params, body }) => {
      const input = grantBody.parse(body);
      const user = await getUserByName(ctx, params.name);
      return iso(await grantCredits(ctx, user.accountId, input.amount, { note: input.note, ref: input.ref, actor: ADMIN_ACTOR, target: `user:${user.name}` }));
    })
    .get("/users/:name/ledger", async ({ params, query }) => {
      const user = await getUserByName(ctx, params.name);
      await ctx.writer.flush();
      return { data: (await listLedgerWithObjects(ctx, user.accountId, ledgerLimit(query.limit))).map(iso) };
    })
    .post("/orgs/:name/credits", async ({ params, body }) => {
      const input = grantBody.parse(body);
      const org = await orgByName(ctx, params.name);
      return iso(await grantCredits(ctx, org.id, input.amount, { note: input.note, ref: input.ref, actor: ADMIN_ACTOR, target: `org:${org.name}` }));
    })
    .get("/orgs/:name/ledger", async ({ params, query }) => {
      const org = await orgByName(ctx, params.name);
      await ctx.writer.flush();
      return { data: (await listLedgerWithObjects(ctx, org.id, ledgerLimit(query.limit))).map(iso) };
    });

const ledgerLimit = (raw: unknown) => Math.min(10_000, Math.max(1, Number(raw) || 50));
