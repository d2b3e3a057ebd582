import type { RedisClient, RedisOptions } from "bun";
import type { RateLimit, RateState } from "./rate-limits";
import { isUnavailable, LuaScript, RedisUnavailableError, within } from "./redis-script";
import { DROP_BY_PREFIX, RELEASE, RELEASE_SLOTS, RENEW, TAKE, TAKE_SLOTS, UNDO } from "./redis-slots-lua";
import type { SlotDecision, SlotLimiter, SlotRequest } from "./slots";

/**
 * How Bun 1.4.5's RedisClient behaves when Redis is down, and what the limiter does about it:
 * - With the defaults (autoReconnect, maxRetries 20, enableOfflineQueue), a command to a server that is
 *   down waits in the offline queue until reconnection gives up: about 31 s (backoff from 50 ms,
 *   doubling, capped at 2 s). connectionTimeout bounds one connect attempt, not a command.
 * - With `enableOfflineQueue: false`, a command while disconnected rejects at once
 *   (ERR_REDIS_CONNECTION_CLOSED), and autoReconnect still reconnects in the background. But the first
 *   command of a client that was never connected rejects too: await `connect()` at start-up.
 * - After maxRetries the client stays closed ("Connection has failed") even once Redis is back, until
 *   something calls `connect()`; `connect()` itself, while the server is down, takes the whole retry
 *   series (~31 s) unless autoReconnect is off.
 * - A hung server (SIGSTOP, a silent network) gets no timeout at all: the command waits forever.
 * So: clients for this limiter use SLOT_REDIS_OPTIONS; every call first checks `connected` (failing at
 * once, and starting one `connect()` in the background, so even a client that gave up comes back), and
 * is bounded by commandTimeoutMs.
 */
export const SLOT_REDIS_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  autoReconnect: true,
  // Never give up reconnecting (every 2 s once backed off): Redis coming back must need no restart.
  maxRetries: 2 ** 31 - 1,
  connectionTimeout: 1000,
};

export type RedisSlotOptions = {
  /** Prefix of every key. @default "relay:" */
  prefix?: string;
  /** How long a slot stays taken without renew (a requester that died frees it after this). */
  leaseTtlMs: number;
  /** A call unanswered after this rejects with RedisUnavailableError (the caller falls back). @default 500 */
  commandTimeoutMs?: number;
};

/** Keys outlive their last write by their content's lifetime plus this, so idle keys vanish. */
const KEY_MARGIN_MS = 1000;
const RATE_KEY_TTL = String(60_000 + KEY_MARGIN_MS);

const take = new LuaScript(TAKE);
const release = new LuaScript(RELEASE);
const undo = new LuaScript(UNDO);
const renew = new LuaScript(RENEW);
const releaseSlots = new LuaScript(RELEASE_SLOTS);
const takeSlots = new LuaScript(TAKE_SLOTS);
const dropByPrefix = new LuaScript(DROP_BY_PREFIX);

/** Slots and rate windows shared by every instance through one Redis (see redis-slots-lua.ts). */
export class RedisSlotLimiter implements SlotLimiter {
  private readonly prefix: string;
  private readonly leaseTtl: string;
  private readonly slotKeyTtl: string;
  private readonly timeoutMs: number;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly client: RedisClient,
    opts: RedisSlotOptions,
  ) {
    this.prefix = opts.prefix ?? "relay:";
    this.leaseTtl = String(Math.ceil(opts.leaseTtlMs));
    this.slotKeyTtl = String(Math.ceil(opts.leaseTtlMs) + KEY_MARGIN_MS);
    this.timeoutMs = opts.commandTimeoutMs ?? 500;
  }

  async take(req: SlotRequest): Promise<SlotDecision> {
    if (req.slots.length === 0 && req.rates.length === 0) return { ok: true, states: [] };
    // Slots only (no rate windows): with the other such takes of this event-loop turn, in one call.
    if (req.rates.length === 0) return this.takeLater(req);
    const keys = [...req.slots.map((s) => this.slotKey(s.id)), ...this.rateKeys(req.rates)];
    const args = [req.requestId, this.leaseTtl, this.slotKeyTtl, RATE_KEY_TTL, String(req.slots.length), ...req.slots.map((s) => String(s.cap))];
    for (const r of req.rates) args.push(String(r.limit), String(r.cost), member(req.requestId, r.cost));
    let sent: Promise<unknown> | undefined;
    let raw: number[];
    try {
      raw = (await this.bounded("take", () => (sent = take.run(this.client, keys, args)))) as number[];
    } catch (e) {
      // A take that timed out may still run once Redis answers: take it back then (same connection, so after it).
      if (e instanceof RedisUnavailableError) sent?.then((r) => void ((r as number[])[0] === 1 && this.undo(req).catch(() => {})), () => {});
      throw e;
    }
    const states = (at: number): RateState[] =>
      req.rates.map((r, j) => ({ kind: r.kind, limit: r.limit, remaining: Math.max(0, r.limit - raw[at + 2 * j]!), resetMs: raw[at + 2 * j + 1]! }));
    if (raw[0] === 1) return { ok: true, states: states(1) };
    if (raw[0] === 0) return { ok: false, kind: "concurrency", slot: req.slots[raw[1]! - 1]! };
    return { ok: false, kind: "rate", refused: req.rates[raw[1]! - 1]!, retryAfterMs: raw[2]! < 0 ? Infinity : raw[2]!, states: states(3) };
  }

  /** Slot-only takes waiting for the end of this event-loop turn (see flushTakes). */
  private pendingTakes: { req: SlotRequest; resolve: (d: SlotDecision) => void; reject: (e: unknown) => void }[] | null = null;

  private takeLater(req: SlotRequest): Promise<SlotDecision> {
    if (!this.pendingTakes) {
      this.pendingTakes = [];
      setImmediate(() => void this.flushTakes());
    }
    const list = this.pendingTakes;
    return new Promise((resolve, reject) => list.push({ req, resolve, reject }));
  }

  private async flushTakes(): Promise<void> {
    const list = this.pendingTakes ?? [];
    this.pendingTakes = null;
    if (list.length === 0) return;
    const keys: string[] = [];
    const args = [this.leaseTtl, this.slotKeyTtl];
    for (const { req } of list) {
      for (const s of req.slots) keys.push(this.slotKey(s.id));
      args.push(req.requestId, String(req.slots.length), ...req.slots.map((s) => String(s.cap)));
    }
    let sent: Promise<unknown> | undefined;
    try {
      const raw = (await this.bounded("take", () => (sent = takeSlots.run(this.client, keys, args)))) as number[];
      list.forEach(({ req, resolve }, i) => {
        const refused = raw[i]!;
        resolve(refused === 0 ? { ok: true, states: [] } : { ok: false, kind: "concurrency", slot: req.slots[refused - 1]! });
      });
    } catch (e) {
      // Takes that timed out may still run once Redis answers: give back the ones that were taken then.
      if (e instanceof RedisUnavailableError) {
        sent?.then((r) => (r as number[]).forEach((refused, i) => void (refused === 0 && this.undo(list[i]!.req).catch(() => {}))), () => {});
      }
      for (const { reject } of list) reject(e);
    }
  }

  /** Slot releases waiting for the end of this event-loop turn (see flushReleases). */
  private pendingReleases: { keys: string[]; ids: string[]; waiters: { resolve: () => void; reject: (e: unknown) => void }[] } | null = null;

  async release(req: SlotRequest, actualTokens: number): Promise<void> {
    const tokens = req.rates.filter((r) => r.kind === "tokens");
    if (req.slots.length === 0 && tokens.length === 0) return;
    // Most requests have only slots to free: those of every request that ends in this turn go in one call.
    if (tokens.length === 0) return this.releaseLater(req);
    const keys = [...req.slots.map((s) => this.slotKey(s.id)), ...this.rateKeys(tokens)];
    const args = [req.requestId, RATE_KEY_TTL, String(req.slots.length)];
    for (const r of tokens) args.push(member(req.requestId, r.cost), member(req.requestId, actualTokens), String(actualTokens - r.cost));
    await this.bounded("release", () => release.run(this.client, keys, args));
  }

  private releaseLater(req: SlotRequest): Promise<void> {
    let p = this.pendingReleases;
    if (!p) {
      p = this.pendingReleases = { keys: [], ids: [], waiters: [] };
      setImmediate(() => void this.flushReleases());
    }
    for (const s of req.slots) p.keys.push(this.slotKey(s.id)), p.ids.push(req.requestId);
    const batch = p;
    return new Promise((resolve, reject) => batch.waiters.push({ resolve, reject }));
  }

  private async flushReleases(): Promise<void> {
    const p = this.pendingReleases;
    this.pendingReleases = null;
    if (!p) return;
    try {
      await this.bounded("release", () => releaseSlots.run(this.client, p.keys, p.ids));
      for (const w of p.waiters) w.resolve();
    } catch (e) {
      for (const w of p.waiters) w.reject(e);
    }
  }

  async undo(req: SlotRequest): Promise<void> {
    if (req.slots.length === 0 && req.rates.length === 0) return;
    const keys = [...req.slots.map((s) => this.slotKey(s.id)), ...this.rateKeys(req.rates)];
    const args = [req.requestId, RATE_KEY_TTL, String(req.slots.length)];
    for (const r of req.rates) args.push(member(req.requestId, r.cost), String(r.cost));
    await this.bounded("undo", () => undo.run(this.client, keys, args));
  }

  /** One script call for all of them: a lease per (request, slot). */
  async renew(reqs: readonly SlotRequest[]): Promise<void> {
    const keys: string[] = [];
    const ids: string[] = [];
    for (const r of reqs) for (const s of r.slots) keys.push(this.slotKey(s.id)), ids.push(r.requestId);
    if (keys.length === 0) return;
    await this.bounded("renew", () => renew.run(this.client, keys, [this.leaseTtl, this.slotKeyTtl, ...ids]));
  }

  /**
   * Frees every slot held by a request id starting with `idPrefix` (a killed predecessor's, whose ids all
   * share its per-process stem): at start, so its slots are free at once rather than a lease TTL later.
   */
  async dropLeasesOf(idPrefix: string): Promise<number> {
    let cursor = "0";
    let dropped = 0;
    do {
      const [next, keys] = (await this.bounded("scan", () => this.client.send("SCAN", [cursor, "MATCH", `${this.prefix}slot:*`, "COUNT", "1000"]))) as [string, string[]];
      cursor = next;
      for (const key of keys) dropped += Number(await this.bounded("drop", () => dropByPrefix.run(this.client, [key], [idPrefix])));
    } while (cursor !== "0");
    return dropped;
  }

  /** PING under the same rules as every call: the failover limiter's probe. */
  async ping(): Promise<void> {
    await this.bounded("PING", () => this.client.send("PING", []));
  }

  private slotKey(id: string): string {
    return `${this.prefix}slot:${id}`;
  }

  /** A window and its sum per rate, in the order the scripts read them. */
  private rateKeys(rates: readonly RateLimit[]): string[] {
    return rates.flatMap((r) => [`${this.prefix}rate:${r.id}`, `${this.prefix}rate-sum:${r.id}`]);
  }

  /** Fails at once when disconnected, after timeoutMs when unanswered; any connection-type error becomes RedisUnavailableError. */
  private async bounded<T>(what: string, send: () => Promise<T>): Promise<T> {
    if (!this.client.connected) {
      this.reconnect();
      throw new RedisUnavailableError(`Redis is not connected (${what})`);
    }
    try {
      return await within(send(), this.timeoutMs, what);
    } catch (e) {
      if (e instanceof RedisUnavailableError || !isUnavailable(e)) throw e;
      throw new RedisUnavailableError(`Redis is unavailable (${what}): ${(e as Error).message}`, e);
    }
  }

  /** One connect() at a time: it brings back a client whose reconnection gave up (or never started). */
  private reconnect(): void {
    this.connecting ??= this.client.connect().then(
      () => void (this.connecting = undefined),
      () => void (this.connecting = undefined),
    );
  }
}

function member(requestId: string, cost: number): string {
  return `${requestId}|${cost}`;
}

export type EvictionCheck = { policy: string; safe: boolean; message: string };

/**
 * Whether Redis may evict the limiter's keys under memory pressure: only `noeviction` is safe. volatile-*
 * evicts keys with a TTL, which all of ours carry; allkeys-* evicts anything. An evicted slot key frees
 * every slot it held, an evicted window forgets a minute of admissions. Connection failures (and no
 * answer within timeoutMs) reject with RedisUnavailableError.
 */
export async function checkEvictionPolicy(client: RedisClient, timeoutMs = 2000): Promise<EvictionCheck> {
  const fix = "Set maxmemory-policy noeviction (in redis.conf, or CONFIG SET maxmemory-policy noeviction).";
  let policy: unknown;
  try {
    const r = await within(client.send("CONFIG", ["GET", "maxmemory-policy"]), timeoutMs, "CONFIG GET");
    // RESP3 answers a map (an object in Bun); RESP2 servers answer [name, value].
    policy = Array.isArray(r) ? r[1] : (r as Record<string, unknown> | null)?.["maxmemory-policy"];
  } catch (e) {
    if (e instanceof RedisUnavailableError) throw e;
    if (isUnavailable(e)) throw new RedisUnavailableError(`Redis is unavailable (CONFIG GET): ${(e as Error).message}`, e);
    return {
      policy: "unknown",
      safe: false,
      message: `Could not read Redis's maxmemory-policy (CONFIG GET failed: ${(e as Error).message}; managed Redis services often disable CONFIG). Make sure it is noeviction, or Redis may evict concurrency slots and rate windows under memory pressure. ${fix}`,
    };
  }
  if (typeof policy !== "string" || policy === "") {
    return { policy: "unknown", safe: false, message: `Redis did not report its maxmemory-policy. ${fix}` };
  }
  if (policy === "noeviction") return { policy, safe: true, message: "Redis maxmemory-policy is noeviction: slot and rate keys are never evicted." };
  const what = policy.startsWith("volatile-") ? "every relay slot and rate key (they all carry a TTL)" : "any key, relay's slot and rate keys included";
  return {
    policy,
    safe: false,
    message: `Redis maxmemory-policy is ${policy}: under memory pressure Redis may evict ${what}, silently freeing concurrency slots and forgetting rate windows. ${fix}`,
  };
}
