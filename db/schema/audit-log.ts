import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Every admin write: what, on what, when, by whom. Never a secret. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    target: text("target").notNull().default(""),
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    /** The caller's address for self-service actions and logins; empty for the admin socket. */
    ip: text("ip").notNull().default(""),
  },
  (t) => [index("audit_log_at_idx").on(t.at)],
);

export type AuditRow = typeof auditLog.$inferSelect;
