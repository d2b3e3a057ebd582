/**
 * Client load for the cluster drill: workers that send chat completions in a loop, each to the next
 * entry point (the balancer or one instance directly), half of them streamed, and record how every
 * request ended, so the drill can ask afterwards which were answered and whether each is in the usage
 * log. A refusal or a transport error (an instance killed) is recorded and the worker goes on after 20 ms.
 */
import { readStream } from "../drills/support";
import { chat } from "./support";

export type Outcome = "done" | "cut" | "error_event" | "http_error" | "transport_error";

export type Req = {
  id: string | null; status: number; code: string; outcome: Outcome; stream: boolean;
  entry: string; start: number; end: number; retryAfter: string | null;
};

export type LoadSpec = {
  workers: number;
  key: string;
  model: string;
  /** Where requests go, read before each one (so a test can take an entry away). */
  entries: () => string[];
  /** Share of requests streamed. @default 0.5 */
  streamShare?: number;
  /** x-mock-behavior for streamed requests (e.g. a slow drip). */
  streamMock?: object;
  /** @default 15000 */
  timeoutMs?: number;
  random: () => number;
};

/** One request, recorded whatever happens. */
export async function send(entry: string, key: string, model: string, o: { stream: boolean; mock?: object; timeoutMs: number }): Promise<Req> {
  const r: Req = { id: null, status: 0, code: "", outcome: "transport_error", stream: o.stream, entry, start: performance.now(), end: 0, retryAfter: null };
  try {
    const res = await chat(entry, key, model, { stream: o.stream, mock: o.stream ? o.mock : undefined, signal: AbortSignal.timeout(o.timeoutMs) });
    r.status = res.status;
    r.id = res.headers.get("x-request-id");
    r.retryAfter = res.headers.get("retry-after");
    if (res.status === 200) {
      if (o.stream) {
        const how = await readStream(res, null);
        r.outcome = how === "aborted" ? "cut" : how;
      } else r.outcome = (await res.text()).includes('"chat.completion"') ? "done" : "cut";
    } else {
      r.outcome = "http_error";
      const text = await res.text();
      try {
        r.code = JSON.parse(text)?.error?.code ?? "";
      } catch {
        r.code = "not-json";
      }
    }
  } catch {
    r.outcome = "transport_error";
  }
  r.end = performance.now();
  return r;
}

export class Load {
  readonly reqs: Req[] = [];
  private stopping = false;
  private readonly running: Promise<void>[] = [];

  constructor(private readonly spec: LoadSpec) {
    for (let w = 0; w < spec.workers; w++) this.running.push(this.worker(w));
  }

  private async worker(w: number): Promise<void> {
    let turn = w;
    while (!this.stopping) {
      const entries = this.spec.entries();
      const entry = entries[turn++ % entries.length]!;
      const stream = this.spec.random() < (this.spec.streamShare ?? 0.5);
      const r = await send(entry, this.spec.key, this.spec.model, { stream, mock: this.spec.streamMock, timeoutMs: this.spec.timeoutMs ?? 15_000 });
      this.reqs.push(r);
      // A refused client waits a little before the next try, as a real one would (Retry-After aside).
      if (r.status !== 200) await Bun.sleep(20);
    }
  }

  /** Stops the workers after their current request and waits for them. */
  async stop(): Promise<Req[]> {
    this.stopping = true;
    await Promise.all(this.running);
    return this.reqs;
  }
}

/** Requests a client got a whole answer for: these must be in the usage log, charged once. */
export const answered = (reqs: readonly Req[]) => reqs.filter((r) => r.status === 200 && r.outcome === "done" && r.id !== null);

/** "200 done: 120, 429 concurrency_limit_exceeded: 30, transport_error: 2" */
export function tally(reqs: readonly Req[]): string {
  const by = new Map<string, number>();
  for (const r of reqs) {
    const k = r.outcome === "http_error" ? `${r.status} ${r.code}` : r.outcome === "transport_error" ? "transport error" : `${r.status} ${r.outcome}`;
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  return [...by].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(", ") || "none";
}
