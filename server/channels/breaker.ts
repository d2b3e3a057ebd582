/**
 * A per-channel circuit breaker. `threshold` consecutive failures open it for `cooldownMs`; then one
 * request is let through as a half-open probe: success closes it, failure opens it again.
 */
export type BreakerState = "closed" | "open" | "half_open";

export class Breaker {
  state: BreakerState = "closed";
  consecutiveFailures = 0;
  cooldownUntil = 0;
  lastError: string | null = null;
  lastErrorAt: number | null = null;
  private probing = false;

  constructor(private readonly threshold: number, private readonly cooldownMs: number) {}

  /** Whether a request may go to this channel now. Claims the probe slot when half-open. */
  tryAcquire(now = Date.now()): boolean {
    if (this.state === "closed") return true;
    if (this.state === "open" && now >= this.cooldownUntil) this.state = "half_open";
    if (this.state === "half_open" && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  /** Whether the channel could take a request now, without claiming anything. */
  available(now = Date.now()): boolean {
    if (this.state === "closed") return true;
    if (this.state === "open") return now >= this.cooldownUntil;
    return !this.probing;
  }

  onSuccess(): void {
    this.state = "closed";
    this.consecutiveFailures = 0;
    this.probing = false;
  }

  onFailure(error: string, now = Date.now()): void {
    this.lastError = error.slice(0, 500);
    this.lastErrorAt = now;
    this.consecutiveFailures++;
    if (this.state === "half_open" || this.consecutiveFailures >= this.threshold) {
      this.state = "open";
      this.cooldownUntil = now + this.cooldownMs;
    }
    this.probing = false;
  }

  /** A request that was let through but ended without a verdict (e.g. the client went away). */
  onNeutral(): void {
    this.probing = false;
  }

  view() {
    return {
      state: this.state === "open" && Date.now() >= this.cooldownUntil ? ("half_open" as const) : this.state,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt === null ? null : new Date(this.lastErrorAt).toISOString(),
      cooldownUntil: this.state === "open" ? new Date(this.cooldownUntil).toISOString() : null,
    };
  }
}
