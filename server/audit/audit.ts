import { desc, lt } from "drizzle-orm";
import { auditLog } from "../../db/schema";
import type { AppContext } from "../context";

/**
 * Who did something: a name (`admin:socket` for the admin socket), or for self-service actions and logins
 * the caller and the address the request came from.
 */
export type Actor = string | { name: string; ip: string };

export const actorName = (a: Actor): string => (typeof a === "string" ? a : a.name);

/** Records an admin write. `detail` must never carry a secret: callers pass ids and changed field names. */
export function recordAudit(ctx: AppContext, actor: Actor, action: string, target: string, detail: Record<string, unknown> = {}): void {
  const ip = typeof actor === "string" ? "" : actor.ip;
  ctx.db.insert(auditLog).values({ at: Date.now(), actor: actorName(actor), action, target, detail, ip }).run();
}

export function listAudit(ctx: AppContext, opts: { limit?: number; before?: number } = {}) {
  const q = ctx.db.select().from(auditLog);
  const rows = (opts.before ? q.where(lt(auditLog.id, opts.before)) : q).orderBy(desc(auditLog.id)).limit(opts.limit ?? 100).all();
  return rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
}
