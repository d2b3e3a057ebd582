import type { PricedUsage } from "../billing/prices";
import type { AdmitInput, Hold } from "./admission";

/** An account's live state as views show it: balance (with unflushed settlements), holds, slots, tokens. */
export type LiveAccount = { balance: number; held: number; inFlight: number; monthTokens: number; heldTokens: number };

/** What a settlement charged: within the hold always; past it as far as the account could pay. */
export type Settled = { cost: number; tokens: number; shortfall: number };

/**
 * Admission and settlement: the one place that decides whether a request may spend, and what it spent.
 * Embedded mode keeps every balance, hold and slot in this process (limits/embedded.ts): `admit` is
 * synchronous there, so no interleaving of requests can overdraw. A cluster implementation decides in the
 * database and a shared lease store, and answers with a promise. Callers accept both.
 */
export interface Admission {
  /** Takes the slots and holds the worst case, or throws the refusal (an ApiError). */
  admit(input: AdmitInput): Hold | Promise<Hold>;
  /**
   * Releases the hold and charges the usage, exactly once per hold (a second call charges nothing).
   * `prepay`: charge the whole hold instead (work that finishes later, refunded what it did not use).
   */
  settle(hold: Hold, usage: PricedUsage, succeeded: boolean, prepay?: boolean): Settled;
  /** The account as it stands now (loaded when first asked). */
  live(accountId: number): LiveAccount | Promise<LiveAccount>;
  /** The account if this process has seen it since it started; nothing is held or in flight otherwise. */
  peek(accountId: number): LiveAccount | undefined;
  /** A committed balance change made outside settlement (an admin grant or adjustment). */
  credited(accountId: number, amount: number): void;
  /** Work that finished later was settled (committed): its refund and the tokens it used, mirrored in live state. */
  settledLater(s: SettledLater): void;
}

/** An object settled when it ended: the refund to its account, key and member, and the tokens it used this month. */
export type SettledLater = { accountId: number; keyId: number | null; memberUserId: number | null; refund: number; tokens: number };
