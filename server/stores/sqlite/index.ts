import type { Db } from "../../../db/client";
import type { Stores } from "../types";
import { sqliteObjects } from "./objects";
import { sqliteWebhooks } from "./webhooks";
import { sqliteDeliveries } from "./deliveries";
import { sqliteAudit } from "./audit";
import { sqliteAccounts } from "./accounts";
import { sqliteUsers } from "./users";
import { sqliteKeys } from "./keys";
import { sqliteChannels } from "./channels";
import { sqlitePrices } from "./prices";
import { sqliteLedger } from "./ledger";
import { sqliteUsage } from "./usage";
import { sqliteSecrets, sqliteSettings } from "./settings";

/** The embedded implementation of every store: one SQLite file, on the main thread's connection. */
export function sqliteStores(db: Db, aads: Parameters<typeof sqliteSecrets>[1]): Stores {
  return {
    webhooks: sqliteWebhooks(db),
    deliveries: sqliteDeliveries(db),
    objects: sqliteObjects(db),
    audit: sqliteAudit(db),
    accounts: sqliteAccounts(db),
    users: sqliteUsers(db),
    keys: sqliteKeys(db),
    channels: sqliteChannels(db),
    prices: sqlitePrices(db),
    ledger: sqliteLedger(db),
    usage: sqliteUsage(db),
    settings: sqliteSettings(db),
    secrets: sqliteSecrets(db, aads),
  };
}
