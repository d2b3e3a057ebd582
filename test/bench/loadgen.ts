/**
 * A load generator in Bun, used when wrk is not installed, and always for time to first chunk (wrk
 * cannot see inside a response). `concurrency` loops each send one request at a time over keep-alive
 * connections for `durationMs`. Run as its own process by the bench:
 *   bun test/bench/loadgen.ts '<json LoadSpec>'   → one JSON LoadResult line on stdout
 *   bun test/bench/loadgen.ts '<json HoldSpec>'   → {"open":N,...} once N streams are open; SIGTERM closes them
 */

export type LoadSpec = {
  mode: "load";
  url: string;
  headers: Record<string, string>;
  body: string;
  concurrency: number;
  durationMs: number;
  /** Read the body as a stream and note when its first chunk arrives. */
  stream: boolean;
};

export type HoldSpec = { mode: "hold"; url: string; headers: Record<string, string>; body: string; count: number; timeoutMs: number };

export type Percentiles = { p50: number; p99: number; mean: number; max: number };
export type LoadResult = {
  requests: number;
  errors: number;
  /** Non-200 statuses and transport errors seen, with counts. */
  failures: Record<string, number>;
  seconds: number;
  rps: number;
  /** Milliseconds to the last byte. */
  latency: Percentiles;
  /** Milliseconds to the first body chunk (streams only). */
  ttfc: Percentiles | null;
};

class Samples {
  private a = new Float64Array(1 << 16);
  n = 0;
  add(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  percentiles(): Percentiles {
    const s = this.a.slice(0, this.n).sort();
    const at = (q: number) => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!);
    let sum = 0;
    for (const v of s) sum += v;
    return { p50: at(0.5), p99: at(0.99), mean: s.length ? sum / s.length : NaN, max: s.length ? s[s.length - 1]! : NaN };
  }
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latency = new Samples();
  const ttfc = new Samples();
  const failures: Record<string, number> = {};
  let errors = 0;
  const fail = (why: string) => {
    errors++;
    failures[why] = (failures[why] ?? 0) + 1;
  };
  const started = performance.now();
  const end = started + spec.durationMs;
  const init = { method: "POST", headers: spec.headers, body: spec.body };

  const loop = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await fetch(spec.url, init);
        if (spec.stream && res.body) {
          const reader = res.body.getReader();
          let first = true;
          for (;;) {
            const { done } = await reader.read();
            if (done) break;
            if (first) {
              ttfc.add(performance.now() - t0);
              first = false;
            }
          }
        } else {
          await res.arrayBuffer();
        }
        if (res.status !== 200) {
          fail(`HTTP ${res.status}`);
          continue;
        }
        latency.add(performance.now() - t0);
      } catch (e) {
        fail((e as Error).name || "error");
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  return {
    requests: latency.n,
    errors,
    failures,
    seconds,
    rps: latency.n / seconds,
    latency: latency.percentiles(),
    ttfc: spec.stream ? ttfc.percentiles() : null,
  };
}

/**
 * Opens `count` streams and keeps them open: resolves once each has delivered its first chunk (or the
 * timeout passes), and returns a function that closes them all.
 */
export async function holdStreams(spec: HoldSpec): Promise<{ open: number; failed: number; close: () => void }> {
  const ctrl = new AbortController();
  let open = 0;
  let failed = 0;
  let settled = 0;
  let wake = () => {};
  const one = async () => {
    try {
      const res = await fetch(spec.url, { method: "POST", headers: spec.headers, body: spec.body, signal: ctrl.signal });
      const reader = res.body!.getReader();
      const first = await reader.read();
      if (res.status === 200 && !first.done) open++;
      else failed++;
      settled++;
      wake();
      while (!(await reader.read()).done) { /* keep reading until closed */ }
    } catch {
      if (!ctrl.signal.aborted) {
        failed++;
        settled++;
        wake();
      }
    }
  };
  for (let i = 0; i < spec.count; i++) void one();
  const deadline = Date.now() + spec.timeoutMs;
  while (settled < spec.count && Date.now() < deadline) {
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 100);
    });
  }
  return { open, failed, close: () => ctrl.abort() };
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2]!) as LoadSpec | HoldSpec;
  if (spec.mode === "load") {
    console.log(JSON.stringify(await runLoad(spec)));
    process.exit(0);
  } else {
    const h = await holdStreams(spec);
    console.log(JSON.stringify({ open: h.open, failed: h.failed }));
    process.on("SIGTERM", () => {
      h.close();
      setTimeout(() => process.exit(0), 200);
    });
  }
}
