import { ApiError } from "../errors";
import type { LocalSlotLimiter } from "./local-slots";
import { RedisUnavailableError } from "./redis-script";
import type { RedisSlotLimiter } from "./redis-slots";
import type { SlotDecision, SlotLimiter, SlotRequest } from "./slots";

export type FailoverOptions = {
  /** When Redis is unreachable: "open" counts in this process (the per-instance shares), "closed" refuses with 503. */
  mode: "open" | "closed";
  /** Told when the limiter starts (true) and stops (false) being degraded: for logs and metrics. */
  onChange?: (degraded: boolean) => void;
  /** Resolves once Redis answers again (e.g. RedisSlotLimiter.ping). */
  probe: () => Promise<void>;
  /** How often the probe runs while degraded. @default 1000 */
  probeIntervalMs?: number;
};

/**
 * Redis's shared slots while Redis answers, this process's own when it does not (mode "open"), and back
 * to Redis as soon as a probe gets through, without a restart. Only RedisUnavailableError switches:
 * any other error is a bug and propagates.
 *
 * What it cannot make exact: while degraded, each instance counts alone (its share of every limit);
 * requests admitted on one side are invisible to the other, so around a switch the cluster may admit up
 * to what was in flight (slots) or admitted in the last minute (rates) on the other side.
 */
export class FailoverSlotLimiter implements SlotLimiter {
  degraded = false;
  degradedSince: number | null = null;
  /** Which limiter took each running request: it is released there, even after Redis comes back. */
  private readonly takenBy = new Map<string, SlotLimiter>();
  private timer: Timer | null = null;
  private probing = false;
  private closed = false;

  constructor(
    private readonly redis: RedisSlotLimiter,
    private readonly local: LocalSlotLimiter,
    private readonly opts: FailoverOptions,
  ) {}

  async take(req: SlotRequest): Promise<SlotDecision> {
    if (!this.degraded) {
      try {
        return this.remember(req, this.redis, await this.redis.take(req));
      } catch (e) {
        if (!(e instanceof RedisUnavailableError)) throw e;
        this.degrade();
      }
    }
    if (this.opts.mode === "closed") {
      throw new ApiError(
        "service_unavailable",
        "The shared limit store (Redis) is unreachable, so relay cannot check concurrency and rate limits right now; retry in a few seconds.",
        null,
        { "retry-after": "2" },
      );
    }
    return this.remember(req, this.local, await this.local.take(req));
  }

  async release(req: SlotRequest, actualTokens: number): Promise<void> {
    const by = this.takenBy.get(req.requestId);
    if (!by) return;
    this.takenBy.delete(req.requestId);
    await this.quietly(by.release(req, actualTokens));
  }

  async undo(req: SlotRequest): Promise<void> {
    const by = this.takenBy.get(req.requestId);
    if (!by) return;
    this.takenBy.delete(req.requestId);
    await this.quietly(by.undo(req));
  }

  /** Renews Redis's leases even while degraded: a short outage should not free the slots of running requests. */
  async renew(reqs: readonly SlotRequest[]): Promise<void> {
    const onRedis = reqs.filter((r) => this.takenBy.get(r.requestId) === this.redis);
    if (onRedis.length > 0) await this.quietly(this.redis.renew(onRedis));
  }

  /** Stops the probe timer (at shutdown); the limiter keeps answering from whichever side it is on. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private remember(req: SlotRequest, by: SlotLimiter, d: SlotDecision): SlotDecision {
    if (d.ok) this.takenBy.set(req.requestId, by);
    return d;
  }

  /**
   * Ending a request must not fail because Redis is away: its lease expires and its window entries age
   * out on their own, so the only loss is a token correction.
   */
  private async quietly(p: Promise<void>): Promise<void> {
    try {
      await p;
    } catch (e) {
      if (!(e instanceof RedisUnavailableError)) throw e;
      this.degrade();
    }
  }

  private degrade(): void {
    if (this.degraded) return;
    this.degraded = true;
    this.degradedSince = Date.now();
    if (!this.closed) {
      this.timer = setInterval(() => void this.probe(), this.opts.probeIntervalMs ?? 1000);
      this.timer.unref();
    }
    this.opts.onChange?.(true);
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await this.opts.probe();
    } catch {
      return; // still away: the next tick tries again
    } finally {
      this.probing = false;
    }
    if (!this.degraded) return;
    this.degraded = false;
    this.degradedSince = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.opts.onChange?.(false);
  }
}
