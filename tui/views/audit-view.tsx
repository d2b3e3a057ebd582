import type { AuditApi, ViewProps } from "../api";
import type { AuditRow } from "../types";
import { usePoll } from "../hooks/use-poll";
import { useListScreen } from "../hooks/use-list-screen";
import { fromScreen, ListFrame, tableRows } from "../components/list-frame";
import { Details } from "../components/details";
import type { Column } from "../components/table";
import { stamp, text, when } from "../format";
import type { FilterField } from "../state/list";

/** Rows fetched per refresh. @default 300 */
export const AUDIT_ROWS = 300;

const columns: Column<AuditRow>[] = [
  { title: "TIME", width: 11, cell: (a) => stamp(a.at) },
  { title: "ACTOR", width: 13, cell: (a) => a.actor },
  { title: "ACTION", width: 16, cell: (a) => a.action },
  { title: "TARGET", width: 14, cell: (a) => text(a.target) },
  { title: "IP", width: 15, cell: (a) => a.ip || "-" },
  { title: "DETAIL", width: "flex", cell: (a) => text(a.detail) },
];

const filterBy: FilterField<AuditRow>[] = [
  { name: "actor", text: (a) => a.actor },
  { name: "action", text: (a) => a.action },
  { name: "target", text: (a) => a.target },
];

/** Who changed what, newest first. */
export function AuditView({ api, active, width, height, pollMs = 1500 }: ViewProps<AuditApi>) {
  const poll = usePoll(() => api.audit(AUDIT_ROWS).then((r) => r.data as AuditRow[]), pollMs);
  const screen = useListScreen<AuditRow>({
    rows: poll.data ?? [],
    idOf: (a) => a.id,
    filterBy,
    height: tableRows(height, poll.error),
    active,
  });
  const a = screen.selected;
  return (
    <ListFrame
      title="Audit log"
      note="newest first"
      {...fromScreen(screen, poll)}
      columns={columns}
      width={width}
      height={height}
      details={(w, h) =>
        a && <Details title={`Audit #${a.id}`} width={w} height={h} fields={[["at", when(a.at)], ["actor", a.actor], ["source IP", a.ip || "-"], ["action", a.action], ["target", a.target], ["detail", a.detail]]} />
      }
    />
  );
}
