import type { AppContext } from "../context";
import { log } from "../log";
import type { ErrorCode } from "../errors";
import { getUserById } from "../users/service";
import { getAccount } from "../accounts/store";
import type { RunningRequest } from "../relay/running";
import type { AccountRow, UserRow } from "../../db/schema";
import { keyRefusal, lookupKey } from "./authenticate";
import type { CachedKey } from "./key-cache";

/**
 * What happens after any write that authentication or the limits read (a key or user changed, disabled,
 * deleted; a limit lowered): the key cache is dropped, so the next request sees the change, and every
 * running request is checked again, so the change reaches the requests already in flight too. A request
 * that may no longer run is cut at once (see RunningRequest.cut).
 */
export async function authChanged(ctx: AppContext): Promise<void> {
  ctx.keyCache.clear();
  if (ctx.running.size > 0) await recheckRunning(ctx);
}

type Verdict = { code: ErrorCode; message: string } | null;

/** What the running requests' keys, users and accounts are now, read once for the whole check. */
type Now = { keys: Map<string, CachedKey | null>; users: Map<number, UserRow | undefined>; accounts: Map<number, AccountRow | undefined> };

async function readNow(ctx: AppContext, running: RunningRequest[]): Promise<Now> {
  const digests = [...new Set(running.map((r) => r.digest).filter((d): d is string => d !== null))];
  const userIds = [...new Set(running.filter((r) => r.digest === null && r.userId !== null).map((r) => r.userId!))];
  const accountIds = [...new Set(running.map((r) => r.accountId))];
  const [keys, users, accounts] = await Promise.all([
    Promise.all(digests.map(async (d) => [d, await lookupKey(ctx, d)] as const)),
    Promise.all(userIds.map(async (id) => [id, await getUserById(ctx, id)] as const)),
    Promise.all(accountIds.map(async (id) => [id, await getAccount(ctx, id)] as const)),
  ]);
  return { keys: new Map(keys), users: new Map(users), accounts: new Map(accounts) };
}

/** Checks every running request against the current keys, users and limits; cuts those that fail. */
export async function recheckRunning(ctx: AppContext, now = Date.now()): Promise<number> {
  const running = ctx.running.all();
  const state = await readNow(ctx, running);
  let cut = 0;
  const survivors: RunningRequest[] = [];
  for (const r of running) {
    const v = authorizationVerdict(state, r, now);
    if (v) {
      r.cut(v.code, v.message);
      cut++;
    } else survivors.push(r);
  }
  return cut + cutOverLimits(state, survivors);
}

/** Whether the key (or, for a session, the user) behind a running request may still make it. */
function authorizationVerdict(state: Now, r: RunningRequest, now: number): Verdict {
  const revoked = (message: string): Verdict => ({ code: "key_revoked", message });
  if (r.digest === null) {
    const user = r.userId === null ? undefined : state.users.get(r.userId);
    if (!user) return revoked("This user was deleted while the request ran.");
    return user.enabled ? null : revoked("This user was disabled while the request ran.");
  }
  const entry = state.keys.get(r.digest);
  if (!entry || entry.key.id !== r.keyId) return revoked("This API key was deleted while the request ran.");
  const refusal = keyRefusal(entry, r.ip, now);
  if (refusal) {
    if (refusal.errorCode === "key_expired") return revoked("This API key's expiry was moved to the past while the request ran.");
    if (refusal.errorCode === "ip_not_allowed") return revoked(`Requests from ${r.ip} are no longer allowed for this key.`);
    if (refusal.errorCode === "org_suspended") return { code: "org_suspended", message: "The organization was suspended while the request ran." };
    if (entry.key.kind === "member" && !entry.membership) return revoked("This key's creator left the organization while the request ran.");
    return revoked(entry.user?.enabled === false ? "This API key's user was disabled while the request ran." : "This API key was disabled while the request ran.");
  }
  if (!entry.scopes.has("inference")) return revoked("This API key no longer has the 'inference' scope.");
  if (entry.models && !entry.models.has(r.model)) return revoked(`This API key may no longer use model '${r.model}'.`);
  return null;
}

/**
 * After a limit was lowered below what running requests hold, ends the newest of them until the rest fit:
 * the account's concurrency cap, a member's concurrency cap, the key's spend limit and the monthly quota.
 */
function cutOverLimits(state: Now, running: RunningRequest[]): number {
  let cut = 0;
  const gone = new Set<string>();
  const end = (r: RunningRequest, code: ErrorCode, message: string) => {
    if (gone.has(r.requestId)) return;
    gone.add(r.requestId);
    r.cut(code, message);
    cut++;
  };
  const newestFirst = [...running].reverse();
  for (const [accountId, list] of groupBy(newestFirst, (r) => r.accountId)) {
    const account = state.accounts.get(accountId);
    if (!account) continue;
    let over = list.length - account.concurrency;
    for (const r of list) if (over-- > 0) end(r, "concurrency_limit_exceeded", `The account's concurrency cap was lowered to ${account.concurrency} while this request ran.`);
    const live = list[0]!.hold.account;
    if (account.monthlyTokens > 0) {
      let excess = live.monthTokens + live.heldTokens - account.monthlyTokens;
      for (const r of list) {
        if (excess <= 0) break;
        if (!gone.has(r.requestId)) end(r, "monthly_quota_exceeded", "The monthly token quota was lowered below what this request holds.");
        excess -= r.hold.tokens;
      }
    }
  }
  for (const list of groupBy(newestFirst.filter((r) => r.digest !== null), (r) => r.digest!).values()) {
    const entry = state.keys.get(list[0]!.digest!);
    const limit = entry?.key.spendLimit ?? null;
    const spend = list[0]!.hold.key;
    if (limit !== null && spend) {
      // The live spend, or the stored one where it is newer (cluster mode reads a key's spend only when it has a limit).
      let excess = Math.max(spend.spent, entry?.key.spent ?? 0) + spend.held - limit;
      for (const r of list) {
        if (excess <= 0) break;
        if (!gone.has(r.requestId)) end(r, "key_spend_limit_exceeded", "The key's spend limit was lowered below what this request holds.");
        excess -= r.hold.credits;
      }
    }
  }
  // A member's concurrency cap in an org, over all of their member keys.
  for (const list of groupBy(newestFirst.filter((r) => r.hold.member !== null), (r) => `${r.accountId}:${r.userId}`).values()) {
    const m = list[0]!.hold.member!;
    const cap = membershipCap(state, list);
    if (cap === null) continue;
    let over = list.filter((r) => !gone.has(r.requestId)).length - cap;
    for (const r of list) if (over > 0 && !gone.has(r.requestId)) (end(r, "concurrency_limit_exceeded", `Your concurrency cap in this organization was lowered to ${cap} while this request ran.`), over--);
    void m;
  }
  return cut;
}

/** The current concurrency cap of the member behind these requests (null: none). */
function membershipCap(state: Now, list: RunningRequest[]): number | null {
  const r = list.find((x) => x.digest !== null);
  return r ? state.keys.get(r.digest!)?.membership?.concurrency ?? null : null;
}

/**
 * Writes made outside this process's services (another connection: the settlement thread does not count,
 * a person with sqlite3 does) are seen by the key cache on the next request; while requests run, this
 * looks every `intervalMs` too, so they reach running streams within a second as well.
 */
export function watchExternalAuthChanges(ctx: AppContext, intervalMs = 500): () => void {
  // Whoever notices first (a request's cache lookup, or this timer), the running requests are checked once,
  // after the current turn rather than inside someone's authentication.
  ctx.keyCache.onStale = () => {
    if (ctx.running.size > 0) setImmediate(() => void recheckRunning(ctx).catch((err) => log.error("re-checking running requests failed", { error: String(err) })));
  };
  const timer = setInterval(() => {
    if (ctx.running.size > 0) ctx.keyCache.poll();
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    ctx.keyCache.onStale = null;
  };
}

function groupBy<T, K>(xs: readonly T[], key: (x: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = out.get(k);
    if (list) list.push(x);
    else out.set(k, [x]);
  }
  return out;
}
