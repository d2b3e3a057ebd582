import { ApiError } from "../errors";

/** How repeated login failures are slowed and then refused. */
export type LoginLimits = {
  /** Failures for one name answered at full speed. @default 3 */
  freeFailures: number;
  /** Failures from one IP answered at full speed; higher, since many users may share one address. @default 10 */
  freeFailuresPerIp: number;
  /** Delay after the free failures are used up; it doubles with each further failure. @default 250 */
  baseDelayMs: number;
  /** Longest delay. @default 8000 */
  maxDelayMs: number;
  /** Failures for one name that lock that name out. @default 10 */
  maxFailuresPerName: number;
  /** Failures from one IP that lock that IP out. @default 50 */
  maxFailuresPerIp: number;
  /** How long failures are remembered after the latest one, and so how long a lock-out lasts. @default 900000 */
  windowMs: number;
  /** Counters kept in memory; past this the stale ones, then the oldest, are dropped. @default 100000 */
  maxEntries: number;
};

export const defaultLoginLimits: LoginLimits = {
  freeFailures: 3,
  freeFailuresPerIp: 10,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxFailuresPerName: 10,
  maxFailuresPerIp: 50,
  windowMs: 15 * 60_000,
  maxEntries: 100_000,
};

type Counter = { failures: number; lastAt: number };

/** A claimed attempt: wait `delayMs` before checking the password, call `succeeded()` if it was right. */
export type LoginAttempt = { delayMs: number; succeeded: () => void };

/**
 * Counts failed logins per name and per IP, in memory. An attempt is counted as a failure when it starts
 * and forgiven only when it succeeds, so a burst of parallel guesses cannot slip past the limit while the
 * first ones are still being checked. Unknown names are counted exactly like known ones.
 */
export class LoginLimiter {
  readonly limits: LoginLimits;
  private readonly counters = new Map<string, Counter>();

  constructor(limits: Partial<LoginLimits> = {}) {
    this.limits = { ...defaultLoginLimits, ...limits };
  }

  /** Claims an attempt, or throws 429 `too_many_attempts` (with Retry-After) while the name or IP is locked out. */
  begin(name: string, ip: string, now = Date.now()): LoginAttempt {
    const nameKey = `name:${name}`;
    const byName = this.counter(nameKey, now);
    const byIp = this.counter(`ip:${ip}`, now);
    const lockedUntil = Math.max(
      byName.failures >= this.limits.maxFailuresPerName ? byName.lastAt + this.limits.windowMs : 0,
      byIp.failures >= this.limits.maxFailuresPerIp ? byIp.lastAt + this.limits.windowMs : 0,
    );
    if (lockedUntil > now) {
      const seconds = Math.max(1, Math.ceil((lockedUntil - now) / 1000));
      throw new ApiError("too_many_attempts", `Too many failed login attempts; try again in ${seconds} seconds.`, null, { "retry-after": String(seconds) });
    }
    const delayMs = Math.max(this.delayFor(byName.failures), this.delayFor(byIp.failures, this.limits.freeFailuresPerIp));
    for (const c of [byName, byIp]) {
      c.failures++;
      c.lastAt = now;
    }
    return {
      delayMs,
      succeeded: () => {
        // A success clears the name; the IP only gets this attempt back, so one valid account cannot
        // be used to wipe an IP's record of guesses against others.
        this.counters.delete(nameKey);
        byIp.failures = Math.max(0, byIp.failures - 1);
      },
    };
  }

  /** 0 for the free failures, then baseDelayMs doubling up to maxDelayMs. */
  delayFor(failures: number, free = this.limits.freeFailures): number {
    const over = failures - free;
    if (over <= 0) return 0;
    return Math.min(this.limits.maxDelayMs, this.limits.baseDelayMs * 2 ** Math.min(over - 1, 30));
  }

  private counter(key: string, now: number): Counter {
    let c = this.counters.get(key);
    if (c && now - c.lastAt > this.limits.windowMs) c = undefined;
    if (!c) {
      if (this.counters.size >= this.limits.maxEntries) this.evict(now);
      c = { failures: 0, lastAt: now };
      this.counters.set(key, c);
    }
    return c;
  }

  private evict(now: number): void {
    for (const [k, c] of this.counters) if (now - c.lastAt > this.limits.windowMs) this.counters.delete(k);
    for (const k of this.counters.keys()) {
      if (this.counters.size < this.limits.maxEntries * 0.9) break;
      this.counters.delete(k);
    }
  }
}
