/** The longest wait between two attempts, however many failed. */
export const MAX_RETRY_DELAY_MS = 3_600_000;

/** The wait after the `failures`-th failed attempt: `base`, doubling each time, capped at an hour. */
export function retryDelay(failures: number, baseMs: number): number {
  return Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.min(40, Math.max(0, failures - 1)));
}

/**
 * Where a delivery goes after an attempt. A failure is retried until `retryForMs` after it was queued;
 * the last retry is at that deadline exactly, and a failure at or after it gives up.
 */
export function nextState(ok: boolean, failures: number, queuedAt: number, now: number, baseMs: number, retryForMs: number) {
  if (ok) return { status: "delivered" as const, nextAttemptAt: now };
  const deadline = queuedAt + retryForMs;
  if (now >= deadline) return { status: "failed" as const, nextAttemptAt: now };
  return { status: "pending" as const, nextAttemptAt: Math.min(deadline, now + retryDelay(failures, baseMs)) };
}
