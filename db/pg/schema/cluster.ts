import { integer, pgTable, text } from "drizzle-orm/pg-core";
import { int64, jsonb } from "./columns";
import type { Admitted } from "../../../server/usage/journal-lines";

/*
 * PostgreSQL only: the state that lets several instances share one set of accounts. Embedded mode keeps
 * holds in its process's memory, because only one process ever admits there.
 */

/**
 * One row per running metered request, from admission to settlement, whichever instance runs it: what it
 * holds of its account (and key and member). Created and deleted exactly once per request id (the
 * primary key, and a DELETE ... RETURNING in the settlement's transaction), so a retry or a replay can
 * neither hold nor release twice. A hold whose instance stopped heart-beating is settled by another one.
 */
export const holds = pgTable(
  "holds",
  {
    requestId: text("request_id").primaryKey(),
    accountId: integer("account_id").notNull(),
    keyId: integer("key_id"),
    /** The member whose share of an org the hold counts against (member keys), or null. */
    memberUserId: integer("member_user_id"),
    credits: int64("credits").notNull(),
    tokens: int64("tokens").notNull(),
    /** The instance running the request (instances.id). */
    instanceId: text("instance_id").notNull(),
    /** The request as journaled at admission (usage/journal-lines.ts Admitted), so whoever settles a dead instance's hold can log it. */
    admitted: jsonb("admitted").$type<Admitted>().notNull(),
    createdAt: int64("created_at").notNull(),
  },
);

/** Every instance that has run against this database: its heartbeat says whether it is alive. */
export const instances = pgTable("instances", {
  id: text("id").primaryKey(),
  host: text("host").notNull(),
  pid: integer("pid").notNull(),
  /** Where it serves HTTP, `host:port`. */
  listen: text("listen").notNull(),
  version: text("version").notNull(),
  mode: text("mode", { enum: ["postgres", "cluster"] }).notNull(),
  startedAt: int64("started_at").notNull(),
  /** Milliseconds since the epoch, by the database's clock (so instances' clocks need not agree). */
  heartbeatAt: int64("heartbeat_at").notNull(),
  /** Set when it stopped cleanly. */
  stoppedAt: int64("stopped_at"),
  /** Whether it last saw Redis (false: running on per-instance shares). */
  redisOk: integer("redis_ok").notNull().default(1),
});

/**
 * A counter bumped by triggers whenever channels or prices change, from any instance: each instance
 * polls it with auth_epoch and reloads what changed, so a write on one reaches every other one.
 */
export const configEpoch = pgTable("config_epoch", {
  id: integer("id").primaryKey(),
  n: int64("n").notNull(),
});
