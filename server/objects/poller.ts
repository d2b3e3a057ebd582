import type { AppContext } from "../context";
import type { ObjectRow } from "../../db/schema";
import type { LiveChannel } from "../channels/registry";
import { adapterOf } from "../providers";
import { upstreamHeaders } from "../relay/upstream";
import { OBJECT_KINDS } from "./kinds";
import { settleIfEnded } from "./settle";
import { log } from "../log";

/**
 * Takes the right to poll one object for a while (cluster mode: a Redis lease, so one instance at a time
 * polls it, and another takes over once a dead instance's lease runs out). Embedded and PostgreSQL modes
 * have one instance: always granted.
 */
export type PollClaim = (key: string, ttlMs: number) => Promise<boolean>;

/**
 * Follows every prepaid object that has not ended (background responses) until it does, and settles it
 * then. Its state is the objects table, so it survives restarts; settling is exactly once whoever sees the
 * end first (settle.ts). Calls are paced per channel: one at a time to each channel, channels in parallel.
 */
export class ObjectPoller {
  private timer: ReturnType<typeof setInterval> | null = null;
  private running = false;

  constructor(private readonly ctx: AppContext, private readonly intervalMs: number, private readonly claim: PollClaim = async () => true) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass over what is unsettled; returns how many it settled. */
  async tick(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const rows = await this.ctx.stores.objects.unsettled(200);
      const byChannel = new Map<number, ObjectRow[]>();
      for (const r of rows) byChannel.set(r.channelId, [...(byChannel.get(r.channelId) ?? []), r]);
      const settled = await Promise.all([...byChannel].map(async ([channelId, list]) => {
        const channel = this.ctx.channels.all().find((c) => c.row.id === channelId && c.row.enabled);
        if (!channel) return 0;
        let n = 0;
        for (const o of list) {
          // A lease a little shorter than the interval: this instance polls it again next time if it still can.
          const mine = await this.claim(`poll:${o.id}`, Math.max(50, this.intervalMs - 10)).catch(() => true);
          if (mine && (await this.poll(channel, o))) n++;
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

  /** Asks the channel for the object; settles it if it ended. True if this call settled it. */
  private async poll(channel: LiveChannel, o: ObjectRow): Promise<boolean> {
    const family = OBJECT_KINDS.find((k) => k.kind === o.kind)?.family;
    if (!family) return false;
    const adapter = adapterOf(channel);
    const url = adapter.url(channel, { path: `/v1/${family}/${encodeURIComponent(o.upstreamId)}`, search: "", upstreamModel: "" });
    try {
      const res = await fetch(url, { headers: upstreamHeaders(new Headers(), channel, adapter, null), signal: AbortSignal.timeout(10_000) });
      if (!res.ok) return false;
      return (await settleIfEnded(this.ctx, o, (await res.json()) as Record<string, unknown>)).settled;
    } catch (err) {
      log.debug("polling an object failed", { id: o.upstreamId, channel: channel.row.name, error: String(err) });
      return false;
    }
  }
}
