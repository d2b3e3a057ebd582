import type { SQL } from "bun";
import type { PgDb } from "../../../db/pg/client";
import type { Stores } from "../types";
import { pgObjects } from "./objects";
import { pgWebhooks } from "./webhooks";
import { pgDeliveries } from "./deliveries";
import { pgAudit } from "./audit";
import { pgAccounts } from "./accounts";
import { pgUsers } from "./users";
import { pgKeys } from "./keys";
import { pgChannels } from "./channels";
import { pgPrices } from "./prices";
import { pgLedger } from "./ledger";
import { pgUsage } from "./usage";
import { pgSecrets, pgSettings } from "./settings";

/**
 * The PostgreSQL implementation of every store (cluster mode): the same contract as sqliteStores, held
 * across instances by row locks, conditional statements and unique constraints inside each write's
 * transaction. `db` is drizzle over the pool `sql` (openPg); `sql` runs the raw aggregate queries.
 */
export function pgStores(db: PgDb, sql: SQL, aads: Parameters<typeof pgSecrets>[1]): Stores {
  return {
    webhooks: pgWebhooks(db),
    deliveries: pgDeliveries(db),
    objects: pgObjects(db),
    audit: pgAudit(db),
    accounts: pgAccounts(db),
    users: pgUsers(db),
    keys: pgKeys(db),
    channels: pgChannels(db),
    prices: pgPrices(db),
    ledger: pgLedger(db),
    usage: pgUsage(db, sql),
    settings: pgSettings(db),
    secrets: pgSecrets(db, aads),
  };
}
