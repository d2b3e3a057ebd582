import type { AppContext } from "../context";
import { DeliveryWorker } from "./worker";
import { CreditsWatch } from "./credits-watch";

/** The webhook sender and the credits.low check of one instance, started and stopped together. */
export type WebhookRuntime = {
  worker: DeliveryWorker;
  credits: CreditsWatch;
  /** Wakes the sender: something was just queued. */
  nudge(): void;
  /** Before the database closes: attempts under way end and are logged. */
  stop(): Promise<void>;
};

/**
 * Builds and starts both loops. The sender ticks as often as the first retry delay asks, between 20 ms
 * and a second, so tests with a short RELAY_WEBHOOK_RETRY_BASE_MS see retries promptly.
 */
export function startWebhooks(ctx: AppContext): WebhookRuntime {
  const worker = new DeliveryWorker(ctx, Math.min(1_000, Math.max(20, ctx.config.RELAY_WEBHOOK_RETRY_BASE_MS)));
  const credits = new CreditsWatch(ctx, () => worker.nudge());
  worker.start();
  credits.start();
  return {
    worker,
    credits,
    nudge: () => worker.nudge(),
    stop: async () => {
      credits.stop();
      await worker.stop();
    },
  };
}
