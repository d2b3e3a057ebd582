import type { AppContext } from "../context";
import type { RequestRecord } from "../usage/recorder";

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** In-process Prometheus counters; rendered as text on GET /metrics. */
export class Metrics {
  /** Request counters by status, then channel, then model: lookups by number first, no label string per request. */
  private readonly requests = new Map<number, Map<number | null, Map<string, { labels: string; n: number }>>>();
  private readonly charged = new Map<string, number>();
  private readonly shortfall = new Map<string, number>();
  private readonly refused = new Map<string, number>();
  private readonly latency = new Map<string, { buckets: number[]; sum: number; count: number }>();

  constructor(private readonly ctx: AppContext) {}

  observeRequest(r: RequestRecord, cost: number, shortfall = 0): void {
    this.countRequest(r.status, r.model, r.channelId);
    if (cost > 0) this.charged.set(r.model, (this.charged.get(r.model) ?? 0) + cost);
    if (shortfall > 0) this.shortfall.set(r.model, (this.shortfall.get(r.model) ?? 0) + shortfall);
    if (r.channelId !== null && r.ttfbMs !== null) this.observeUpstream(r.channelId, r.ttfbMs / 1000);
  }

  /** Every error answer relay gave of its own, by code (unknown keys included, which leave no usage row). */
  observeRefusal(code: string): void {
    this.refused.set(code, (this.refused.get(code) ?? 0) + 1);
  }

  private countRequest(status: number, model: string, channelId: number | null): void {
    let byChannel = this.requests.get(status);
    if (!byChannel) this.requests.set(status, (byChannel = new Map()));
    let byModel = byChannel.get(channelId);
    if (!byModel) byChannel.set(channelId, (byModel = new Map()));
    const c = byModel.get(model);
    if (c) c.n++;
    else byModel.set(model, { labels: `status="${status}",model="${esc(model)}",channel="${channelId ?? ""}"`, n: 1 });
  }

  private observeUpstream(channelId: number, seconds: number): void {
    const k = String(channelId);
    let h = this.latency.get(k);
    if (!h) this.latency.set(k, (h = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.buckets[i]!++;
    h.sum += seconds;
    h.count++;
  }

  async render(): Promise<string> {
    const out: string[] = [];
    out.push("# HELP relay_requests_total Relayed requests by status, model and channel.", "# TYPE relay_requests_total counter");
    for (const byChannel of this.requests.values()) {
      for (const byModel of byChannel.values()) for (const c of byModel.values()) out.push(`relay_requests_total{${c.labels}} ${c.n}`);
    }
    out.push("# HELP relay_refused_total Requests relay refused itself (auth, scope, limits, bad input, unknown route), by error code.", "# TYPE relay_refused_total counter");
    for (const [code, n] of this.refused) out.push(`relay_refused_total{code="${esc(code)}"} ${n}`);
    out.push("# HELP relay_credits_charged_total Credits charged, by model.", "# TYPE relay_credits_charged_total counter");
    for (const [m, v] of this.charged) out.push(`relay_credits_charged_total{model="${esc(m)}"} ${v}`);
    out.push(
      "# HELP relay_credits_shortfall_total Credits of reported usage past a request's hold that the account could not pay, by model.",
      "# TYPE relay_credits_shortfall_total counter",
    );
    for (const [m, v] of this.shortfall) out.push(`relay_credits_shortfall_total{model="${esc(m)}"} ${v}`);
    out.push("# HELP relay_in_flight Requests in flight per account (a user's own, or an org).", "# TYPE relay_in_flight gauge");
    const accounts = [...await this.ctx.stores.accounts.list("user"), ...await this.ctx.stores.accounts.list("org")].sort((x, y) => x.id - y.id);
    for (const a of accounts) {
      out.push(`relay_in_flight{account="${esc(a.name)}",kind="${a.kind}"} ${this.ctx.admission.peek(a.id)?.inFlight ?? 0}`);
    }
    out.push("# HELP relay_upstream_latency_seconds Time to the upstream's response headers, per channel.", "# TYPE relay_upstream_latency_seconds histogram");
    for (const [ch, h] of this.latency) {
      BUCKETS.forEach((b, i) => out.push(`relay_upstream_latency_seconds_bucket{channel="${ch}",le="${b}"} ${h.buckets[i]}`));
      out.push(`relay_upstream_latency_seconds_bucket{channel="${ch}",le="+Inf"} ${h.count}`);
      out.push(`relay_upstream_latency_seconds_sum{channel="${ch}"} ${h.sum}`, `relay_upstream_latency_seconds_count{channel="${ch}"} ${h.count}`);
    }
    const c = this.ctx.cluster;
    out.push("# HELP relay_mode The storage mode (embedded, postgres or cluster).", "# TYPE relay_mode gauge", `relay_mode{mode="${this.ctx.mode}"} 1`);
    if (c) {
      const redisDown = "degraded" in c.limiter && c.limiter.degraded === true;
      const pgDown = "unreachableSince" in this.ctx.writer && (this.ctx.writer as { unreachableSince: number | null }).unreachableSince !== null;
      out.push(
        "# HELP relay_cluster_degraded 1 while Redis (per-instance shares) or PostgreSQL (metered requests refused) is unreachable.", "# TYPE relay_cluster_degraded gauge",
        `relay_cluster_degraded{cause="redis"} ${redisDown ? 1 : 0}`, `relay_cluster_degraded{cause="postgres"} ${pgDown ? 1 : 0}`,
        "# HELP relay_instances_alive Instances with a fresh heartbeat, as this one last counted.", "# TYPE relay_instances_alive gauge", `relay_instances_alive ${c.instances.liveCount}`,
        "# HELP relay_holds_swept_total Holds of dead instances this instance released.", "# TYPE relay_holds_swept_total counter", `relay_holds_swept_total ${c.sweeper.swept}`,
      );
    }
    return out.join("\n") + "\n";
  }
}

