import type { SQL } from "bun";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import pkg from "../../package.json";
import type { Mode } from "../config";
import { log } from "../log";
import { DB_NOW_MS } from "./clock";

export type InstanceRow = {
  id: string; host: string; pid: number; listen: string; version: string; mode: string;
  startedAt: number; heartbeatAt: number; stoppedAt: number | null; redisOk: boolean; alive: boolean; self: boolean;
};

/**
 * This instance's row in `instances` and its heartbeat. An instance is alive while its heartbeat is younger
 * than the lease TTL; the number alive is what a limit is divided by while Redis is down, and a dead
 * instance's holds are settled by the sweeper (sweeper.ts).
 */
export class Instances {
  readonly id = randomUUID();
  private timer: ReturnType<typeof setInterval> | null = null;
  private alive = 1;
  /** Whether this instance last saw Redis (reported with the heartbeat). */
  redisOk = true;
  /** The last heartbeat that reached PostgreSQL (ms, this machine's clock). */
  lastBeat = 0;

  constructor(private readonly sql: SQL, private readonly mode: Exclude<Mode, "embedded">, private readonly ttlMs: number) {}

  async register(listen: string): Promise<void> {
    const now = Date.now();
    await this.sql.unsafe(
      `INSERT INTO instances (id, host, pid, listen, version, mode, started_at, heartbeat_at, redis_ok) VALUES ($1, $2, $3, $4, $5, $6, $7, ${DB_NOW_MS}, 1)`,
      [this.id, hostname(), process.pid, listen, pkg.version, this.mode, now],
    );
    this.lastBeat = now;
    await this.countAlive();
    this.timer = setInterval(() => void this.beat(), Math.max(50, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /** Instances alive now (this one included), as of the last heartbeat; at least 1. */
  get liveCount(): number {
    return Math.max(1, this.alive);
  }

  private async beat(): Promise<void> {
    try {
      await this.sql.unsafe(`UPDATE instances SET heartbeat_at = ${DB_NOW_MS}, redis_ok = $2 WHERE id = $1`, [this.id, this.redisOk ? 1 : 0]);
      this.lastBeat = Date.now();
      await this.countAlive();
    } catch (err) {
      log.warn("instance heartbeat failed", { error: String(err) });
    }
  }

  private async countAlive(): Promise<void> {
    const [r] = await this.sql.unsafe(`SELECT count(*) AS n FROM instances WHERE stopped_at IS NULL AND heartbeat_at > ${DB_NOW_MS} - $1`, [this.ttlMs]);
    this.alive = Number(r.n);
  }

  async list(): Promise<InstanceRow[]> {
    const rows = await this.sql.unsafe(
      `SELECT *, (stopped_at IS NULL AND heartbeat_at > ${DB_NOW_MS} - $1) AS alive FROM instances
       WHERE stopped_at IS NULL OR stopped_at > ${DB_NOW_MS} - 3600000 ORDER BY started_at`,
      [this.ttlMs],
    );
    return rows.map((r: Record<string, unknown>) => ({
      id: String(r.id), host: String(r.host), pid: Number(r.pid), listen: String(r.listen), version: String(r.version), mode: String(r.mode),
      startedAt: Number(r.started_at), heartbeatAt: Number(r.heartbeat_at), stoppedAt: r.stopped_at === null ? null : Number(r.stopped_at),
      redisOk: Number(r.redis_ok) === 1, alive: Boolean(r.alive), self: r.id === this.id,
    }));
  }

  /** Says this instance stopped cleanly (its holds are all settled by then). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sql.unsafe(`UPDATE instances SET stopped_at = ${DB_NOW_MS} WHERE id = $1`, [this.id]).catch(() => {});
  }
}
