import type { RedisClient, SQL } from "bun";
import type { Instances } from "./instances";
import type { HoldSweeper } from "./sweeper";
import type { ChangeWatcher } from "./changes";
import type { FailoverSlotLimiter } from "../limits/failover-slots";
import type { LocalSlotLimiter } from "../limits/local-slots";

/** What PostgreSQL and cluster modes run besides the shared services (built in cluster/bootstrap.ts). */
export type ClusterServices = {
  sql: SQL;
  instances: Instances;
  sweeper: HoldSweeper;
  watcher: ChangeWatcher;
  /** Redis (cluster mode) with a per-instance fallback, or this process's memory (one instance). */
  limiter: FailoverSlotLimiter | LocalSlotLimiter;
  redis: RedisClient | null;
  /** Redis's maxmemory-policy as checked at start (null: no Redis). */
  eviction: { policy: string; safe: boolean; message: string } | null;
};
