import { clusterHealth } from "../cluster/health";
import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { listAudit } from "../audit/audit";
import { rotateMasterKey } from "../keyring/rotate";
import { ADMIN_ACTOR } from "./actor";
import pkg from "../../package.json";

export const adminSystemRoutes = (ctx: AppContext, info: () => Record<string, unknown>) =>
  new Elysia({ name: "admin-system" })
    .get("/health", async () => ({
      status: "ok",
      version: pkg.version,
      mode: ctx.mode,
      uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
      masterKeyId: ctx.keyring.currentId(),
      pendingWrites: ctx.writer.pending,
      settlementWriter: ctx.writer.where,
      ...info(),
      ...(ctx.cluster ? await clusterHealth(ctx) : {}),
    }))
    .get("/audit", async ({ query }) => ({
      data: await listAudit(ctx, { limit: query.limit ? Math.min(1000, Number(query.limit) || 100) : 100, before: query.before ? Number(query.before) : undefined }),
    }))
    .post("/master-key/rotate", async () => await rotateMasterKey(ctx, ADMIN_ACTOR));
