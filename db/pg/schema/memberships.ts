import { integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { createdAt, int64 } from "./columns";
import { accounts } from "./accounts";
import { users } from "./users";

export const ROLES = ["owner", "admin", "member", "billing"] as const;
export type Role = (typeof ROLES)[number];

/** A user's place in an organization: one role, and optional caps on what their member keys may use. Mirrors db/schema/memberships.ts. */
export const memberships = pgTable(
  "memberships",
  {
    accountId: integer("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    userId: integer("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: ROLES }).notNull(),
    /** Credits the member's keys may spend in the org per UTC month; null = no cap. */
    monthlySpend: int64("monthly_spend"),
    /** The member's requests in flight in the org; null = only the org's cap. */
    concurrency: int64("concurrency"),
    rpm: int64("rpm"),
    tpm: int64("tpm"),
    createdAt: createdAt(),
    /** PostgreSQL only: credits the member's running requests hold in the org (against monthlySpend). */
    held: int64("held").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.userId] })],
);

export type MembershipRow = typeof memberships.$inferSelect;

/** Credits a member's keys spent in an org per UTC month (`YYYY-MM`), kept by the settlement writer. */
export const memberSpend = pgTable(
  "member_spend",
  {
    accountId: integer("account_id").notNull(),
    userId: integer("user_id").notNull(),
    month: text("month").notNull(),
    credits: int64("credits").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.userId, t.month] })],
);
