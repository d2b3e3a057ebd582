import { and, asc, desc, eq, gt, inArray, isNull, lt, or } from "drizzle-orm";
import { ledger, objects } from "../../../db/schema";
import type { Db } from "../../../db/client";
import type { ObjectSettled, ObjectStore } from "../types";
import { RUNNING_STATUSES } from "../../objects/kinds";
import { utcMonth } from "../../limits/month";

export function sqliteObjects(db: Db): ObjectStore {
  return {
    async record(o) {
      const now = Date.now();
      return db.insert(objects).values({ ...o, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: [objects.kind, objects.upstreamId, objects.channelId], set: { status: o.status, meta: o.meta, updatedAt: now } })
        .returning().get();
    },
    async find(kind, upstreamId, accountId) {
      return db.select().from(objects)
        .where(and(eq(objects.kind, kind), eq(objects.upstreamId, upstreamId), eq(objects.accountId, accountId)))
        .orderBy(desc(objects.id)).get();
    },
    async list(kind, accountId, { limit, before }) {
      const where = before === undefined
        ? and(eq(objects.accountId, accountId), eq(objects.kind, kind))
        : and(eq(objects.accountId, accountId), eq(objects.kind, kind), lt(objects.id, before));
      return db.select().from(objects).where(where).orderBy(desc(objects.id)).limit(limit).all();
    },
    async update(id, fields) {
      db.update(objects).set({ ...fields, updatedAt: Date.now() }).where(eq(objects.id, id)).run();
    },
    async remove(id) {
      db.delete(objects).where(eq(objects.id, id)).run();
    },
    async prepaidBy(requestIds) {
      if (requestIds.length === 0) return [];
      const rows = db.select({ requestId: objects.requestId, kind: objects.kind, upstreamId: objects.upstreamId }).from(objects).where(inArray(objects.requestId, requestIds)).all();
      return rows.filter((r): r is { requestId: string; kind: string; upstreamId: string } => r.requestId !== null);
    },
    async unsettled(limit) {
      return db.select().from(objects)
        .where(and(isNull(objects.settledAt), or(gt(objects.prepaid, 0), inArray(objects.status, [...RUNNING_STATUSES]))))
        .orderBy(asc(objects.id)).limit(limit).all();
    },
    async settle(id, st) {
      const sqlite = db.$client;
      const none: ObjectSettled = { settled: false, refund: 0, keyId: null, memberUserId: null };
      return sqlite.transaction((): ObjectSettled | "pending" => {
        const o = sqlite.query("SELECT account_id, key_id, prepaid, request_id, settled_at FROM objects WHERE id = ?").get(id) as
          { account_id: number; key_id: number | null; prepaid: number; request_id: string | null; settled_at: number | null } | null;
        if (!o || o.settled_at !== null) return none;
        let charged = o.prepaid;
        type PaidBy = { user_id: number | null; org_id: number | null; at: number };
        let paidBy: PaidBy | null = null;
        if (o.request_id) {
          paidBy = sqlite.query("SELECT user_id, org_id, at FROM usage_log WHERE request_id = ?").get(o.request_id) as PaidBy | null;
          if (!paidBy) return "pending";
          const c = sqlite.query("SELECT -amount AS c FROM ledger WHERE ref = ? AND kind = 'charge'").get(o.request_id) as { c: number } | null;
          charged = c ? c.c : 0;
        }
        const refund = Math.max(0, Math.min(o.prepaid, charged) - st.used);
        const now = Date.now();
        sqlite.query("UPDATE objects SET settled_at = ?, status = ?, used_credits = ?, used_tokens = ?, updated_at = ? WHERE id = ?").run(now, st.status, st.used, st.tokens, now, id);
        if (st.tokens > 0) {
          sqlite.query(`INSERT INTO token_usage (account_id, month, tokens) VALUES (?,?,?)
            ON CONFLICT (account_id, month) DO UPDATE SET tokens = tokens + excluded.tokens`).run(o.account_id, utcMonth(now), st.tokens);
        }
        const memberUserId = paidBy?.org_id != null && paidBy.user_id !== null ? paidBy.user_id : null;
        if (refund > 0) {
          const after = sqlite.query("UPDATE accounts SET credits = credits + ? WHERE id = ? RETURNING credits").get(refund, o.account_id) as { credits: number } | null;
          if (after) {
            db.insert(ledger).values({
              at: now, accountId: o.account_id, userId: paidBy?.user_id ?? null, kind: "refund", amount: refund, balanceAfter: after.credits, ref: st.ref, keyId: o.key_id, actor: "relay", note: st.note,
            }).run();
          }
          // The spend it counted against the key's limit and the member's monthly cap is given back too.
          if (o.key_id !== null) sqlite.query("UPDATE api_keys SET spent = MAX(0, spent - ?) WHERE id = ?").run(refund, o.key_id);
          if (memberUserId !== null) {
            sqlite.query("UPDATE member_spend SET credits = MAX(0, credits - ?) WHERE account_id = ? AND user_id = ? AND month = ?").run(refund, o.account_id, memberUserId, utcMonth(paidBy!.at));
          }
        }
        return { settled: true, refund, keyId: o.key_id, memberUserId };
      }).immediate();
    },
  };
}
