import type { UsageApi, ViewProps } from "../api";
import type { UsageRow, UserRow } from "../types";
import { usePoll } from "../hooks/use-poll";
import { useListScreen } from "../hooks/use-list-screen";
import { fromScreen, ListFrame, tableRows } from "../components/list-frame";
import { Details } from "../components/details";
import type { Column } from "../components/table";
import { num, publicId, stamp, when } from "../format";
import type { FilterField } from "../state/list";

/** Rows fetched per refresh. @default 500 */
export const USAGE_ROWS = 500;

// The full prefix holds the public id the KEY column shows.
const filterBy: FilterField<UsageRow>[] = [
  { name: "key", text: (r) => r.keyPrefix },
  { name: "model", text: (r) => r.model },
];

/** Requests as they happen, newest first. */
export function UsageView({ api, active, width, height, pollMs = 1500 }: ViewProps<UsageApi>) {
  const poll = usePoll(() => api.usage({ limit: USAGE_ROWS }).then((r) => r.data as UsageRow[]), Math.min(pollMs, 1000));
  const users = usePoll(() => api.users.list().then((r) => r.data as UserRow[]), Math.max(pollMs, 5000));
  const nameOf = (id: number) => users.data?.find((u) => u.id === id)?.name ?? `#${id}`;

  const columns: Column<UsageRow>[] = [
    { title: "TIME", width: 11, cell: (r) => stamp(r.at) },
    { title: "USER", width: 10, cell: (r) => nameOf(r.userId) },
    { title: "MODEL", width: "flex", cut: "middle", cell: (r) => r.model },
    { title: "ST", width: 3, cell: (r) => String(r.status), color: (r) => (r.status >= 400 ? "red" : undefined) },
    { title: "IN", width: 7, align: "right", cell: (r) => num(r.promptTokens) },
    { title: "OUT", width: 7, align: "right", cell: (r) => num(r.completionTokens) },
    { title: "COST", width: 8, align: "right", cell: (r) => num(r.cost) },
    { title: "MS", width: 6, align: "right", cell: (r) => num(r.totalMs) },
    { title: "KEY", width: 8, cell: (r) => publicId(r.keyPrefix) },
    { title: "IP", width: 15, cell: (r) => r.sourceIp },
  ];

  const screen = useListScreen<UsageRow>({
    rows: poll.data ?? [],
    idOf: (r) => r.id,
    filterBy,
    height: tableRows(height, poll.error),
    active,
  });

  const r = screen.selected;
  return (
    <ListFrame
      title="Usage"
      note="live, newest first"
      {...fromScreen(screen, poll)}
      columns={columns}
      width={width}
      height={height}
      empty="no requests yet"
      details={(w, h) =>
        r && (
          <Details
            title={`Request ${r.requestId}`}
            width={w}
            height={h}
            fields={[
              ["at", when(r.at)], ["user", nameOf(r.userId)], ["key", r.keyId === null ? r.keyPrefix : `#${r.keyId} ${r.keyPrefix}`], ["source IP", r.sourceIp],
              ["endpoint", r.endpoint], ["model", r.model], ["upstream model", r.upstreamModel], ["channel", r.channelId],
              ["status", `${r.status}${r.errorCode ? ` ${r.errorCode}` : ""}`], ["stream", r.stream],
              ["tokens", `${num(r.promptTokens)} in, ${num(r.completionTokens)} out`], ["cost", num(r.cost)],
              ...(r.shortfall ? [["not charged (past the hold)", num(r.shortfall)] as [string, unknown]] : []),
              ...(r.errorDetail ? [["error detail", r.errorDetail] as [string, unknown]] : []),
              ["time to first byte", r.ttfbMs === null ? "-" : `${num(r.ttfbMs)} ms`], ["total", r.totalMs === null ? "-" : `${num(r.totalMs)} ms`],
            ]}
          />
        )
      }
    />
  );
}
