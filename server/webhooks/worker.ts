import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { AppContext } from "../context";
import type { WebhookDeliveryRow } from "../../db/schema";
import { log } from "../log";
import { nextState } from "./backoff";
import { ATTEMPT_TIMEOUT_MS, sendOnce } from "./send";

/** Deliveries one instance sends at once. */
const PARALLEL = 16;
/** A lease outlives the longest attempt (DNS, then the 10 s timeout) with room to record it. */
const LEASE_MS = ATTEMPT_TIMEOUT_MS * 3;

/**
 * Sends queued deliveries: every tick it leases what is due (a conditional UPDATE, so in cluster mode one
 * instance at a time holds each, and a dead instance's leases run out for another to take), attempts
 * each, logs the attempt and schedules the retry or ends the delivery. All its state is in the database:
 * a restarted relay carries on with whatever is pending. A delivery that gives up after failing for the
 * whole retry window disables its endpoint, if the endpoint delivered nothing else meanwhile.
 */
export class DeliveryWorker {
  /** Unique per process: the lease owner. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly stopping = new AbortController();
  private claiming = false;

  constructor(private readonly ctx: AppContext, private readonly tickMs: number) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** Stops taking work and ends the attempts under way (each logged as failed, its lease released). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopping.abort();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Looks for due work now rather than at the next tick (a delivery was just queued). */
  nudge(): void {
    if (this.timer) queueMicrotask(() => void this.tick());
  }

  /** Leases what is due and starts sending it; resolves once the sends it started have ended. */
  async tick(): Promise<void> {
    if (this.claiming || this.stopping.signal.aborted || this.inFlight.size >= PARALLEL) return;
    this.claiming = true;
    let rows: WebhookDeliveryRow[] = [];
    try {
      rows = await this.ctx.stores.deliveries.claim(this.owner, Date.now(), LEASE_MS, PARALLEL - this.inFlight.size);
    } catch (err) {
      log.warn("leasing webhook deliveries failed", { error: String(err) });
    } finally {
      this.claiming = false;
    }
    const started = rows.map((d) => {
      const p = this.attempt(d).finally(() => this.inFlight.delete(d.id));
      this.inFlight.set(d.id, p);
      return p;
    });
    await Promise.allSettled(started);
  }

  private async attempt(d: WebhookDeliveryRow): Promise<void> {
    const { stores, config } = this.ctx;
    try {
      const w = await stores.webhooks.get(d.webhookId);
      if (!w) return; // deleted meanwhile: its deliveries went with it
      const attempt = w.enabled ? await sendOnce(this.ctx, w, d, this.stopping.signal) : { at: Date.now(), status: null, error: "endpoint disabled", durationMs: 0 };
      const ok = attempt.error === null;
      const next = w.enabled
        ? nextState(ok, d.attempts + 1, d.createdAt, Date.now(), config.RELAY_WEBHOOK_RETRY_BASE_MS, config.RELAY_WEBHOOK_RETRY_FOR_MS)
        : { status: "failed" as const, nextAttemptAt: Date.now() };
      const mine = await stores.deliveries.recordAttempt(d.id, this.owner, attempt, next);
      if (!mine || !w.enabled) return;
      // Failing since the oldest delivery that has not got through: reset by any success.
      const failingSince = await stores.webhooks.noteAttempt(w.id, ok, d.createdAt);
      if (next.status === "failed" && failingSince !== null && Date.now() - failingSince >= config.RELAY_WEBHOOK_RETRY_FOR_MS) {
        const reason = `no delivery succeeded for ${Math.round(config.RELAY_WEBHOOK_RETRY_FOR_MS / 60_000)} min (last: ${attempt.error})`;
        await stores.webhooks.disable(w.id, reason, { actor: "relay", action: "webhook.disable", target: `webhook:${w.id}`, detail: { reason } });
        log.warn("disabled a webhook endpoint that kept failing", { webhook: w.id, account: w.accountId });
      }
    } catch (err) {
      // The lease runs out and the delivery is tried again, here or elsewhere.
      log.warn("a webhook delivery attempt could not be recorded", { delivery: d.id, error: String(err) });
    }
  }
}
