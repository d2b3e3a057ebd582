import type { AppContext } from "../context";
import type { PricedUsage } from "../billing/prices";
import { Accounts, type LiveSource } from "./accounts";
import { admit, settle, type AdmitInput, type Hold } from "./admission";
import type { Admission, LiveAccount, Settled, SettledLater } from "./port";

/**
 * Embedded mode's admission: every balance, hold, slot and rate window in this process's memory, over
 * one SQLite file that only this process writes (see Accounts). Checking and reserving happen in one
 * synchronous step, which is atomic on Bun's single-threaded event loop.
 */
export class EmbeddedAdmission implements Admission {
  readonly accounts: Accounts;

  constructor(private readonly ctx: AppContext, source: LiveSource) {
    this.accounts = new Accounts(source);
  }

  admit(input: AdmitInput): Hold {
    return admit(this.ctx, this.accounts, input);
  }

  settle(hold: Hold, usage: PricedUsage, succeeded: boolean, prepay = false): Settled {
    return settle(hold, usage, succeeded, prepay);
  }

  live(accountId: number): LiveAccount {
    return this.accounts.account(accountId);
  }

  peek(accountId: number): LiveAccount | undefined {
    return this.accounts.peek(accountId);
  }

  credited(accountId: number, amount: number): void {
    this.accounts.credited(accountId, amount);
  }

  settledLater(s: SettledLater): void {
    this.accounts.settledLater(s);
  }
}
