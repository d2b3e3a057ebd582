import type { AppContext } from "../context";

/**
 * Who did something: a name (`admin:socket` for the admin socket), or for self-service actions and logins
 * the caller and the address the request came from.
 */
export type Actor = string | { name: string; ip: string };

export const actorName = (a: Actor): string => (typeof a === "string" ? a : a.name);

/**
 * Records an action that writes nothing else (logins, reveals). Writes record theirs through their store,
 * in their own transaction. `detail` must never carry a secret: callers pass ids and changed field names.
 */
export async function recordAudit(ctx: AppContext, actor: Actor, action: string, target: string, detail: Record<string, unknown> = {}): Promise<void> {
  await ctx.stores.audit.record({ actor, action, target, detail });
}

export async function listAudit(ctx: AppContext, opts: { limit?: number; before?: number } = {}) {
  const rows = await ctx.stores.audit.list(opts);
  return rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
}
