import type { SQL } from "bun";
import { log } from "../log";
import { interruptedSettlement } from "../usage/journal";
import type { Admitted } from "../usage/journal-lines";
import { commitPgSettlements } from "../usage/pg-settlement";
import { DB_NOW_MS } from "./clock";
import type { Settlement } from "../usage/settlement";

/**
 * Settles the holds of instances that died (no heartbeat for a lease TTL, or gone from `instances`): each
 * such request is logged `interrupted` and charged nothing, and its hold is released. That is the policy:
 * what a dead instance answered but had not yet committed (a few milliseconds of settlements) is charged
 * only if that instance comes back on the same data dir before its lease runs out and replays its
 * journal; a request is never charged twice, whoever settles it, because the hold's deletion and the usage
 * row are each taken once (usage/pg-settlement.ts). Every instance sweeps; they may race harmlessly.
 */
export class HoldSweeper {
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Holds this instance settled for dead ones, since start. */
  swept = 0;
  /**
   * No sweeping before this (ms): set two TTLs past a sweep that failed. While PostgreSQL is away no instance
   * can heart-beat, so right after it comes back every live instance looks dead, and sweeping then would log
   * as interrupted (free) requests they answered meanwhile, whose settlements wait in their writers. The
   * others beat again within a TTL/3 of its return. An outage makes a heartbeat (every TTL/3) look stale
   * only when longer than TTL/3, so a sweep every TTL/4 fails in any such outage and starts the quiet
   * period. (Found by test/drills/cluster.ts, PostgreSQL stop.)
   */
  private quietUntil = 0;

  constructor(private readonly sql: SQL, private readonly ttlMs: number) {}

  start(intervalMs = Math.max(50, Math.floor(this.ttlMs / 4))): void {
    this.timer = setInterval(() => void this.sweep().catch((err) => {
      this.quietUntil = Date.now() + 2 * this.ttlMs;
      log.warn("sweeping dead instances' holds failed", { error: String(err) });
    }), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass: up to 500 orphaned holds, settled in one transaction. Returns how many. */
  async sweep(): Promise<number> {
    if (Date.now() < this.quietUntil) return 0;
    const rows = await this.sql.unsafe(
      `SELECT h.admitted::text AS admitted, h.created_at FROM holds h LEFT JOIN instances i ON i.id = h.instance_id
       WHERE i.id IS NULL OR i.stopped_at IS NOT NULL OR i.heartbeat_at < ${DB_NOW_MS} - $1
       ORDER BY h.created_at LIMIT 500`,
      [this.ttlMs],
    ) as { admitted: string; created_at: string }[];
    if (rows.length === 0) return 0;
    const detail = "the instance running this request stopped heart-beating; another instance released its hold, not charged";
    const batch = rows.map((r) => interruptedSettlement({ ...(JSON.parse(r.admitted) as Admitted), at: Number(r.created_at) }, detail));
    await commitPgSettlements(this.sql, batch);
    this.swept += rows.length;
    log.warn("released the holds of requests whose instance stopped heart-beating", { holds: rows.length });
    return rows.length;
  }

  /**
   * At start, before serving: the holds left by this data dir's previous process (killed, so not running:
   * this process holds the data dir's journal lock), which its journal did not know of because the kill
   * came between the reservation and the journal line. Released at once as interrupted, rather than a
   * lease TTL later; returns them so their Redis slots can be freed too.
   */
  async sweepInstance(instanceId: string): Promise<Settlement[]> {
    const rows = await this.sql.unsafe(`SELECT admitted::text AS admitted, created_at FROM holds WHERE instance_id = $1`, [instanceId]) as { admitted: string; created_at: string }[];
    await this.sql.unsafe(`UPDATE instances SET stopped_at = ${DB_NOW_MS} WHERE id = $1 AND stopped_at IS NULL`, [instanceId]);
    if (rows.length === 0) return [];
    const detail = "relay stopped before this request was journaled; released at the next start on its data dir, not charged";
    const batch = rows.map((r) => interruptedSettlement({ ...(JSON.parse(r.admitted) as Admitted), at: Number(r.created_at) }, detail));
    await commitPgSettlements(this.sql, batch);
    log.warn("released the holds a killed predecessor on this data dir left unjournaled", { holds: rows.length });
    return batch;
  }
}
