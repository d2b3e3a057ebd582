import type { UsageApi, ViewProps } from "../api";
import type { UsageRow, UserRow } from "../types";
import { usePoll } from "../hooks/use-poll";
import { useListScreen } from "../hooks/use-list-screen";
import { fromScreen, ListFrame, tableRows } from "../components/list-frame";
import { Details, type Field } from "../components/details";
import type { Column } from "../components/table";
import { num, numFit, publicId, stamp, when } from "../format";
import type { FilterField } from "../state/list";

/** Rows fetched per refresh. @default 500 */
export const USAGE_ROWS = 500;

// The full prefix holds the public id the KEY column shows.
const filterBy: FilterField<UsageRow>[] = [
  { name: "key", text: (r) => r.keyPrefix },
  { name: "model", text: (r) => r.model },
];

/**
 * Tables at least this wide get the cache-write column and roomier cells (the model keeps 16); narrower
 * ones, down to 80 columns, keep the key's id in view.
 */
const WIDE_TABLE = 116;

/** A right-aligned number column that shows `128k` rather than cut a number too long for it. */
const count = (title: string, width: number, value: (r: UsageRow) => number | null): Column<UsageRow> => ({
  title, width, align: "right", cell: (r) => numFit(value(r), width),
});

/** `1,210 in (1,000 cached, 200 cache write), 50 out`: the cache counts are parts of the input, not added to it. */
function tokensOf(r: UsageRow): string {
  const cache = [r.cachedTokens ? `${num(r.cachedTokens)} cached` : "", r.cacheWriteTokens ? `${num(r.cacheWriteTokens)} cache write` : ""].filter(Boolean);
  return `${num(r.promptTokens)} in${cache.length ? ` (${cache.join(", ")})` : ""}, ${num(r.completionTokens)} out`;
}

/** Requests as they happen, newest first. */
export function UsageView({ api, active, width, height, pollMs = 1500 }: ViewProps<UsageApi>) {
  const poll = usePoll(() => api.usage({ limit: USAGE_ROWS }).then((r) => r.data as UsageRow[]), Math.min(pollMs, 1000));
  const users = usePoll(() => api.users.list().then((r) => r.data as UserRow[]), Math.max(pollMs, 5000));
  const nameOf = (id: number) => users.data?.find((u) => u.id === id)?.name ?? `#${id}`;

  const columns = (tableWidth: number): Column<UsageRow>[] => {
    const wide = tableWidth >= WIDE_TABLE;
    return [
      { title: "TIME", width: 11, cell: (r) => stamp(r.at) },
      { title: "USER", width: wide ? 10 : 8, cell: (r) => nameOf(r.userId) },
      { title: "MODEL", width: "flex", cut: "middle", cell: (r) => r.model },
      { title: "ST", width: 3, cell: (r) => String(r.status), color: (r) => (r.status >= 400 ? "red" : undefined) },
      count("IN", 7, (r) => r.promptTokens),
      count("CACHED", wide ? 7 : 6, (r) => r.cachedTokens),
      ...(wide ? [count("WRITE", 7, (r) => r.cacheWriteTokens)] : []),
      count("OUT", wide ? 7 : 6, (r) => r.completionTokens),
      count("COST", wide ? 8 : 6, (r) => r.cost),
      count("MS", 6, (r) => r.totalMs),
      { title: "KEY", width: 8, cell: (r) => publicId(r.keyPrefix) },
      { title: "IP", width: 15, cell: (r) => r.sourceIp },
    ];
  };

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
              ["tokens", tokensOf(r), { wrap: true }], ["cost", num(r.cost)],
              ...(r.shortfall ? [["not charged (past the hold)", num(r.shortfall)] as Field] : []),
              ...(r.errorDetail ? [["error detail", r.errorDetail] as Field] : []),
              ["time to first byte", r.ttfbMs === null ? "-" : `${num(r.ttfbMs)} ms`], ["total", r.totalMs === null ? "-" : `${num(r.totalMs)} ms`],
            ]}
          />
        )
      }
    />
  );
}
