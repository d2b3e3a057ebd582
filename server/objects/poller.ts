import type { AppContext } from "../context";
import type { ObjectRow } from "../../db/schema";
import type { LiveChannel } from "../channels/registry";
import { kindOf } from "./kinds";
import { upstreamGet } from "./upstream-get";
import { settleIfEnded } from "./settle";
import { log } from "../log";

/**
 * Takes the right to poll one object for a while (cluster mode: a Redis lease, so one instance at a time
 * polls it, and another takes over once a dead instance's lease runs out). Embedded and PostgreSQL modes
 * have one instance: always granted.
 */
export type PollClaim = (key: string, ttlMs: number) => Promise<boolean>;

/** How often each kind of running object is asked about. */
export type PollIntervals = { responses: number; batches: number };

/**
 * Follows every object still running upstream (background responses, batches), prepaid or not, until it
 * ends, and settles it then. Its state is the objects table, so it survives restarts; settling is exactly
 * once whoever sees the end first (settle.ts). Calls are paced per channel: one at a time to each channel,
 * channels in parallel. Batches run for hours and are asked about less often than responses.
 */
export class ObjectPoller {
  private timer: ReturnType<typeof setInterval> | null = null;
  private running = false;
  /** When this instance last asked about each object (in memory: after a restart, everything is asked at once). */
  private readonly lastPolled = new Map<number, number>();
  private readonly tickMs: number;

  constructor(private readonly ctx: AppContext, private readonly intervals: PollIntervals, private readonly claim: PollClaim = async () => true) {
    this.tickMs = Math.min(intervals.responses, intervals.batches);
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass over what is followed and due; returns how many it settled. */
  async tick(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const now = Date.now();
      const followed = await this.ctx.stores.objects.unsettled(500);
      const ids = new Set(followed.map((r) => r.id));
      for (const id of this.lastPolled.keys()) if (!ids.has(id)) this.lastPolled.delete(id); // settled by someone else
      const rows = followed.filter((r) => now - (this.lastPolled.get(r.id) ?? 0) >= this.intervalOf(r) - 10);
      const byChannel = new Map<number, ObjectRow[]>();
      for (const r of rows) byChannel.set(r.channelId, [...(byChannel.get(r.channelId) ?? []), r]);
      const settled = await Promise.all([...byChannel].map(async ([channelId, list]) => {
        const channel = this.ctx.channels.all().find((c) => c.row.id === channelId && c.row.enabled);
        if (!channel) return 0;
        let n = 0;
        for (const o of list) {
          // A lease a little shorter than the interval: this instance polls it again next time if it still can.
          const mine = await this.claim(`poll:${o.id}`, Math.max(50, this.intervalOf(o) - 10)).catch(() => true);
          if (!mine) continue;
          this.lastPolled.set(o.id, Date.now());
          if (await this.poll(channel, o)) {
            this.lastPolled.delete(o.id);
            n++;
          }
        }
        return n;
      }));
      return settled.reduce((a, b) => a + b, 0);
    } catch (err) {
      log.warn("polling background objects failed", { error: String(err) });
      return 0;
    } finally {
      this.running = false;
    }
  }

  private intervalOf(o: ObjectRow): number {
    return kindOf(o.kind)?.poll === "batches" ? this.intervals.batches : this.intervals.responses;
  }

  /** Asks the channel for the object; settles it if it ended. True if this call settled it. */
  private async poll(channel: LiveChannel, o: ObjectRow): Promise<boolean> {
    const family = kindOf(o.kind)?.family;
    if (!family) return false;
    try {
      const res = await upstreamGet(channel, `/v1/${family}/${encodeURIComponent(o.upstreamId)}`);
      if (!res.ok) return false;
      const seen = (await res.json()) as Record<string, unknown>;
      const r = await settleIfEnded(this.ctx, o, seen);
      if (!r.settled && typeof seen.status === "string" && seen.status !== o.status) {
        await this.ctx.stores.objects.update(o.id, { status: seen.status, ...(o.kind === "response" ? {} : { meta: seen }) });
      }
      return r.settled;
    } catch (err) {
      log.debug("polling an object failed", { id: o.upstreamId, channel: channel.row.name, error: String(err) });
      return false;
    }
  }
}
