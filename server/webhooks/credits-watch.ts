import type { AppContext } from "../context";
import { log } from "../log";
import { deliveryOf } from "./payload";

/** How often balances are compared with the thresholds. */
export const CREDITS_CHECK_MS = 1_000;

/** The account as a credits.low event names it. */
export const accountRef = (accountId: number) => `acct_${accountId}`;

/**
 * Sends `credits.low` once each time an account's available balance (credits less what in-flight requests
 * hold) falls below an endpoint's `credits_below`, and re-arms it once the balance is back at the threshold
 * or above. A periodic check over the accounts that have such endpoints only, the same in every mode:
 * the latch is a conditional write, so of several instances seeing one fall, one queues the event.
 */
export class CreditsWatch {
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy = false;
  /** Passes run one after another, so a pass asked for while one runs sees the balance as it is after it. */
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly ctx: AppContext, private readonly onQueued: () => void, private readonly everyMs = CREDITS_CHECK_MS) {}

  start(): void {
    // The timer skips a beat while a pass runs rather than queueing passes behind a slow database.
    this.timer = setInterval(() => void (this.busy || this.check()), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass, after any under way; returns how many events it queued. */
  check(): Promise<number> {
    const pass = this.last.then(() => this.pass());
    this.last = pass;
    return pass;
  }

  private async pass(): Promise<number> {
    this.busy = true;
    try {
      const watching = (await this.ctx.stores.webhooks.watchingCredits()).filter((w) => w.events.includes("credits.low"));
      const available = new Map<number, number>();
      let queued = 0;
      for (const w of watching) {
        if (!available.has(w.accountId)) {
          const live = await this.ctx.admission.live(w.accountId);
          available.set(w.accountId, live.balance - live.held);
        }
        const now = available.get(w.accountId)!;
        const below = w.creditsBelow!;
        if (now < below && w.creditsArmed) {
          const data = { id: accountRef(w.accountId), available: now, credits_below: below };
          const at = Date.now();
          if (await this.ctx.stores.webhooks.fireCreditsLow(w.id, deliveryOf(w.id, "credits.low", `${accountRef(w.accountId)}@${at}`, data, at))) queued++;
        } else if (now >= below && !w.creditsArmed) {
          await this.ctx.stores.webhooks.rearmCreditsLow(w.id);
        }
      }
      if (queued > 0) this.onQueued();
      return queued;
    } catch (err) {
      log.warn("checking balances for credits.low failed", { error: String(err) });
      return 0;
    } finally {
      this.busy = false;
    }
  }
}
