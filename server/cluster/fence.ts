import type { RunningRequests } from "../relay/running";
import { log } from "../log";

/**
 * An instance that was paused (SIGSTOP, a frozen VM, a stalled host) for longer than its lease has been
 * given up by the cluster: its heartbeat lapsed, the sweeper released its holds (logged interrupted, not
 * charged) and its Redis leases expired, so its slots went to other requests. Its running requests would
 * now be served free and over the caps. This watch notices the pause (its own timer firing a lease late)
 * and ends them at once, with an error that says to retry, so the cluster's view is the truth again.
 */
export function fenceAfterPause(running: RunningRequests, leaseTtlMs: number, onPause: (ms: number) => void = () => {}): () => void {
  const tickMs = Math.max(50, Math.min(1000, Math.floor(leaseTtlMs / 4)));
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const gap = now - last;
    last = now;
    if (gap < leaseTtlMs) return;
    onPause(gap);
    const cut = running.all();
    log.warn("this instance was paused longer than its lease: its holds and slots were released to the cluster; ending its running requests", { pausedMs: Math.round(gap), running: cut.length });
    for (const r of cut) {
      r.cut("service_unavailable", "This relay instance was paused longer than its lease, so the cluster released this request's hold and slot; retry the request.");
    }
  }, tickMs);
  timer.unref();
  return () => clearInterval(timer);
}
