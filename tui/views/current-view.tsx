import type { AdminApi } from "../api";
import type { ViewId } from "../state/navigation";
import { UsersView } from "./users-view";
import { KeysView } from "./keys-view";
import { ChannelsView } from "./channels-view";
import { UsageView } from "./usage-view";
import { LedgerView } from "./ledger-view";
import { AuditView } from "./audit-view";
import { OrgsView } from "./orgs-view";
import { PricesView } from "./prices-view";
import { WebhooksView } from "./webhooks-view";

type Props = {
  view: ViewId;
  api: AdminApi;
  active: boolean;
  width: number;
  height: number;
  pollMs: number;
  ledgerUser: string | null;
  onShowLedger: (user: string) => void;
};

/** The one mounted view; switching views mounts the next one fresh. */
export function CurrentView({ view, ledgerUser, onShowLedger, ...p }: Props) {
  switch (view) {
    case "users":
      return <UsersView {...p} onShowLedger={onShowLedger} />;
    case "keys":
      return <KeysView {...p} />;
    case "channels":
      return <ChannelsView {...p} />;
    case "usage":
      return <UsageView {...p} />;
    case "ledger":
      return <LedgerView {...p} user={ledgerUser} onChooseUser={onShowLedger} />;
    case "audit":
      return <AuditView {...p} />;
    case "orgs":
      return <OrgsView {...p} />;
    case "prices":
      return <PricesView {...p} />;
    case "webhooks":
      return <WebhooksView {...p} />;
  }
}
