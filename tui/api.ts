import type { AdminClient } from "./client";

/**
 * What the views need from the admin API, view by view. `AdminClient` satisfies all of them; view
 * tests pass small fakes for routes a test server does not have.
 */
export type UsersApi = {
  users: Pick<AdminClient["users"], "list" | "create" | "update">;
  credits: Pick<AdminClient["credits"], "grant">;
};
export type KeysApi = {
  keys: Pick<AdminClient["keys"], "list" | "create" | "update" | "reveal" | "delete">;
  users: Pick<AdminClient["users"], "list">;
  orgs: Pick<AdminClient["orgs"], "list">;
  keyTimeline: AdminClient["keyTimeline"];
};
export type ChannelsApi = { channels: Pick<AdminClient["channels"], "list" | "create" | "update" | "test" | "delete"> };
export type OrgsApi = {
  orgs: Pick<AdminClient["orgs"], "list" | "create" | "update" | "addMember" | "updateMember" | "removeMember" | "grant" | "ledger">;
  keys: Pick<AdminClient["keys"], "create">;
};
export type PricesApi = { prices: Pick<AdminClient["prices"], "list" | "set" | "delete"> };
export type UsageApi = { usage: AdminClient["usage"]; users: Pick<AdminClient["users"], "list"> };
export type LedgerApi = { credits: Pick<AdminClient["credits"], "ledger">; users: Pick<AdminClient["users"], "list"> };
export type AuditApi = { audit: AdminClient["audit"] };
export type HealthApi = { health: AdminClient["health"] };
export type WebhooksApi = { webhooks: Pick<AdminClient["webhooks"], "deliveries"> };

export type AdminApi = UsersApi & KeysApi & ChannelsApi & UsageApi & LedgerApi & AuditApi & OrgsApi & PricesApi & HealthApi & WebhooksApi;

/** Props every view gets. */
export type ViewProps<A> = {
  api: A;
  /** The view is shown and the help screen is closed: it may take keys. */
  active: boolean;
  width: number;
  height: number;
  /** @default 1500 */
  pollMs?: number;
};
