import type { ViewProps, WebhooksApi } from "../api";
import type { DeliveryRow } from "../types";
import { usePoll } from "../hooks/use-poll";
import { useListScreen } from "../hooks/use-list-screen";
import { fromScreen, ListFrame, tableRows } from "../components/list-frame";
import { Details } from "../components/details";
import type { Column } from "../components/table";
import { stamp, when } from "../format";
import type { FilterField } from "../state/list";

/** Deliveries fetched per refresh. @default 300 */
export const DELIVERY_ROWS = 300;

const ms = (s: number | null) => (s === null ? null : s * 1000);
/** What the last attempt came to: the error when it failed, else its HTTP status. */
const lastOf = (d: DeliveryRow) => d.last_error ?? (d.last_status === null ? "-" : String(d.last_status));

const columns: Column<DeliveryRow>[] = [
  { title: "TIME", width: 11, cell: (d) => stamp(ms(d.created_at)) },
  { title: "HOOK", width: 5, cell: (d) => String(d.webhook_id) },
  { title: "URL", width: 24, cell: (d) => d.url },
  { title: "TYPE", width: 19, cell: (d) => d.type },
  { title: "OBJECT", width: 16, cell: (d) => d.object_id },
  { title: "STATUS", width: 9, cell: (d) => d.status },
  { title: "TRIES", width: 5, cell: (d) => String(d.attempts) },
  { title: "LAST", width: "flex", cell: lastOf },
];

const filterBy: FilterField<DeliveryRow>[] = [
  { name: "url", text: (d) => d.url },
  { name: "type", text: (d) => d.type },
  { name: "object", text: (d) => d.object_id },
  { name: "status", text: (d) => d.status },
];

/** Webhook deliveries, newest first: where each went, how many attempts, and how the last one ended. */
export function WebhooksView({ api, active, width, height, pollMs = 1500 }: ViewProps<WebhooksApi>) {
  const poll = usePoll(() => api.webhooks.deliveries({ limit: DELIVERY_ROWS }).then((r) => r.data as DeliveryRow[]), pollMs);
  const screen = useListScreen<DeliveryRow>({ rows: poll.data ?? [], idOf: (d) => d.id, filterBy, height: tableRows(height, poll.error), active });
  const d = screen.selected;
  return (
    <ListFrame
      title="Webhook deliveries"
      note="newest first"
      {...fromScreen(screen, poll)}
      columns={columns}
      width={width}
      height={height}
      details={(w, h) =>
        d && (
          <Details
            title={`Delivery #${d.id}`}
            width={w}
            height={h}
            fields={[
              ["queued", when(ms(d.created_at))], ["event id", d.event_id], ["webhook", String(d.webhook_id)], ["url", d.url], ["type", d.type],
              ["object", d.object_id], ["status", d.status], ["attempts", String(d.attempts)], ["last status", d.last_status === null ? "-" : String(d.last_status)],
              ["last error", d.last_error ?? "-"], ["next attempt", d.next_attempt_at === null ? "-" : when(ms(d.next_attempt_at))],
            ]}
          />
        )
      }
    />
  );
}
