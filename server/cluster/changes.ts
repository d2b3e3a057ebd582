import type { SQL } from "bun";
import type { AuthEpoch } from "../auth/key-cache";
import { log } from "../log";

/**
 * How a write on one instance reaches the others: triggers bump auth_epoch (keys, users, accounts,
 * memberships) and config_epoch (channels, prices) in the writing transaction, and every instance polls
 * both counters (one tiny query) every `intervalMs`. Polling instead of a message bus means no
 * invalidation can be lost: a change shows within one interval plus a reload, measured by
 * test/cluster/propagation.test.ts.
 */
export class ChangeWatcher {
  private auth: number | null = null;
  private config: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private authMoved = false;
  /** When PostgreSQL last answered a poll (ms). */
  lastPoll = Date.now();

  constructor(
    private readonly sql: SQL,
    private readonly onConfig: () => Promise<void>,
    /** Called when auth_epoch moved: the key cache clears and running requests are re-checked at once. */
    private readonly onAuth: () => void = () => {},
    private readonly intervalMs = 200,
  ) {}

  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Whether auth_epoch moved since the last call (and clears the flag). */
  takeAuthMoved(): boolean {
    const m = this.authMoved;
    this.authMoved = false;
    return m;
  }

  private polling = false;
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const [r] = await this.sql`SELECT (SELECT n FROM auth_epoch WHERE id = 1) AS a, (SELECT n FROM config_epoch WHERE id = 1) AS c`;
      this.lastPoll = Date.now();
      const a = Number(r.a);
      const c = Number(r.c);
      const authMoved = this.auth !== null && a !== this.auth;
      if (authMoved) this.authMoved = true;
      const configMoved = this.config !== null && c !== this.config;
      this.auth = a;
      this.config = c;
      if (authMoved) this.onAuth();
      if (configMoved) await this.onConfig();
    } catch (err) {
      log.debug("change poll failed", { error: String(err) });
    } finally {
      this.polling = false;
    }
  }
}

/**
 * The key cache's AuthEpoch over PostgreSQL: stale when another writer moved auth_epoch, and in any case
 * after `maxAgeMs` without a successful poll, so no cached key outlives a lost change by more than that.
 */
export class PgAuthEpoch implements AuthEpoch {
  private clearedAt = Date.now();

  constructor(private readonly watcher: ChangeWatcher, private readonly maxAgeMs = 10_000) {}

  changed(): boolean {
    const now = Date.now();
    if (this.watcher.takeAuthMoved() || (now - this.watcher.lastPoll > this.maxAgeMs && now - this.clearedAt > this.maxAgeMs)) {
      this.clearedAt = now;
      return true;
    }
    return false;
  }
}
