import { desc, lt } from "drizzle-orm";
import { auditLog } from "../../db/schema";
import type { AppContext } from "../context";

/** Records an admin write. `detail` must never carry a secret: callers pass ids and changed field names. */
export function recordAudit(ctx: AppContext, actor: string, action: string, target: string, detail: Record<string, unknown> = {}): void {
  ctx.db.insert(auditLog).values({ at: Date.now(), actor, action, target, detail }).run();
}

export function listAudit(ctx: AppContext, opts: { limit?: number; before?: number } = {}) {
  const q = ctx.db.select().from(auditLog);
  const rows = (opts.before ? q.where(lt(auditLog.id, opts.before)) : q).orderBy(desc(auditLog.id)).limit(opts.limit ?? 100).all();
  return rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
}
