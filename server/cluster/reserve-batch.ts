import type { SQL } from "bun";

export type BalanceReservation = { requestId: string; accountId: number; credits: number; admitted: string };
export type BalanceOutcome = { outcome: "ok" | "balance" | "duplicate" | "no_account"; credits: number; held: number; heldTokens: number };

/** Calls in flight at once; reservations that arrive meanwhile wait for the next call, which carries them all. */
const MAX_IN_FLIGHT = 4;

/**
 * Balance-only reservations, grouped: every reservation asked for in one event-loop turn goes to
 * PostgreSQL in one relay_reserve_balance call (migration 0005), and while MAX_IN_FLIGHT calls are out,
 * new ones gather for the next. A reservation costs the server one conditional UPDATE and one INSERT
 * either way; what is shared is the round trip, the statement and the commit, which were most of it
 * (measured: bun run bench --cluster). Each reservation still succeeds or fails on its own.
 */
export class ReserveBatcher {
  private queue: { r: BalanceReservation; resolve: (o: BalanceOutcome) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(private readonly sql: SQL, private readonly instanceId: string) {}

  reserve(r: BalanceReservation): Promise<BalanceOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ r, resolve, reject });
      if (!this.scheduled && this.inFlight < MAX_IN_FLIGHT) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0 || this.inFlight >= MAX_IN_FLIGHT) return;
    const batch = this.queue;
    this.queue = [];
    this.inFlight++;
    const now = Date.now();
    // The admitted JSON goes in as a string and is cast once per row by the server.
    const payload = `[${batch.map(({ r }) => `{"r":${JSON.stringify(r.requestId)},"a":${r.accountId},"c":${r.credits},"i":${JSON.stringify(this.instanceId)},"d":${r.admitted},"t":${now}}`).join(",")}]`;
    this.sql.unsafe(`SELECT * FROM relay_reserve_balance($1::text::jsonb)`, [payload]).then(
      (rows: Record<string, unknown>[]) => {
        const byId = new Map(rows.map((x) => [String(x.request_id), x]));
        for (const { r, resolve, reject } of batch) {
          const x = byId.get(r.requestId);
          if (!x) reject(new Error(`relay_reserve_balance returned no row for ${r.requestId}`));
          else resolve({ outcome: x.outcome as BalanceOutcome["outcome"], credits: Number(x.credits), held: Number(x.held), heldTokens: Number(x.held_tokens) });
        }
      },
      (err: unknown) => {
        for (const b of batch) b.reject(err);
      },
    ).finally(() => {
      this.inFlight--;
      if (this.queue.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }
}
