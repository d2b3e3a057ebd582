import { index, pgTable, text } from "drizzle-orm/pg-core";
import { int64, jsonb } from "./columns";

/** Every admin write: what, on what, when, by whom. Never a secret. Mirrors db/schema/audit-log.ts. */
export const auditLog = pgTable(
  "audit_log",
  {
    id: int64("id").primaryKey().generatedByDefaultAsIdentity(),
    at: int64("at").notNull(),
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    target: text("target").notNull().default(""),
    detail: jsonb("detail").$type<Record<string, unknown>>().notNull().default({}),
    /** The caller's address for self-service actions and logins; empty for the admin socket. */
    ip: text("ip").notNull().default(""),
  },
  (t) => [index("audit_log_at_idx").on(t.at)],
);

export type AuditRow = typeof auditLog.$inferSelect;
