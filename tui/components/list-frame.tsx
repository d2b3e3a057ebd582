import type { ReactNode } from "react";
import { Box, Text } from "ink";
import type { ListState, RowId } from "../state/list";
import type { Modal } from "../state/modal";
import { ModalView } from "./modal-view";
import { Table, type Column } from "./table";

/** Terminals at least this wide show details beside the list instead of over it. */
const SIDE_BY_SIDE = 120;

/** Table rows that fit in a view body of `height` lines (title, optional error line, table header). */
export const tableRows = (height: number, error: string | null) => Math.max(1, height - 2 - (error ? 1 : 0));

/**
 * The ListFrame props every list view takes the same way: counts, filter, window and modal from its
 * `useListScreen`, the load error from its `usePoll`, rows keyed by id.
 */
export function fromScreen<T extends { id: RowId }>(
  screen: { filtered: readonly T[]; list: ListState; window: Props<T>["window"]; modal: Modal; filterLabel: string },
  poll: { data: readonly T[] | undefined; error: string | null },
) {
  return {
    total: poll.data?.length, shown: screen.filtered.length, list: screen.list, error: poll.error,
    window: screen.window, modal: screen.modal, keyOf: (row: T) => row.id, filterLabel: screen.filterLabel,
  };
}

type Props<T> = {
  title: string;
  /** Rows before filtering. */
  total: number | undefined;
  shown: number;
  list: ListState;
  /** What the filter searches, e.g. "filter by name, label". @default "filter" */
  filterLabel?: string;
  error: string | null;
  /** The table's columns, or a function of the table's width for views that lay out narrow and wide tables differently. */
  columns: readonly Column<T>[] | ((tableWidth: number) => readonly Column<T>[]);
  window: { rows: readonly T[]; offset: number; index: number };
  keyOf: (row: T) => RowId;
  modal: Modal;
  width: number;
  height: number;
  /** The selected row's details pane, drawn when the list is opened (enter). */
  details?: (width: number, height: number) => ReactNode;
  /** Shown instead of an empty table. */
  empty?: string;
  /** Extra text on the title line. */
  note?: string;
};

/** A view's body: title and filter line, load error, then the table, a details pane or a modal. */
export function ListFrame<T>(p: Props<T>) {
  const rows = tableRows(p.height, p.error);
  const count = p.total === undefined ? "loading…" : p.shown === p.total ? `${p.total}` : `${p.shown} of ${p.total}`;
  const position = p.window.index >= 0 && p.shown > rows ? ` · row ${p.window.index + 1}` : "";
  const label = p.filterLabel ?? "filter";
  const filter = p.list.filtering ? `  / ${label}: ${p.list.filter}▏` : p.list.filter ? `  ${label}: ${p.list.filter}` : "";
  const wide = p.width >= SIDE_BY_SIDE;
  const showDetails = p.list.open && p.details && p.window.index >= 0;
  const tableWidth = showDetails && wide ? Math.floor(p.width * 0.55) : p.width;
  const columns = typeof p.columns === "function" ? p.columns(tableWidth) : p.columns;
  let body: ReactNode;
  if (p.modal.kind !== "none") body = <ModalView modal={p.modal} width={p.width} height={rows + 1} />;
  else if (showDetails && !wide) body = p.details!(p.width, rows + 1);
  else if (p.total !== undefined && p.shown === 0) body = <Text dimColor>{p.list.filter ? "nothing matches the filter" : (p.empty ?? "nothing here yet")}</Text>;
  else
    body = (
      <Box flexDirection="row">
        <Table columns={columns} rows={p.window.rows} selected={p.window.index - p.window.offset} width={tableWidth} height={rows} keyOf={p.keyOf} />
        {showDetails ? (
          <Box marginLeft={1} paddingLeft={1} borderStyle="single" borderTop={false} borderRight={false} borderBottom={false} borderDimColor>
            {p.details!(p.width - tableWidth - 3, rows + 1)}
          </Box>
        ) : null}
      </Box>
    );
  return (
    <Box flexDirection="column" width={p.width} height={p.height}>
      <Text wrap="truncate">
        <Text bold>{p.title}</Text>
        <Text dimColor> {count}{position}</Text>
        <Text color="cyan">{filter}</Text>
        {p.note ? <Text dimColor>  {p.note}</Text> : null}
      </Text>
      {p.error ? <Text color="red" wrap="truncate">✗ {p.error}</Text> : null}
      {body}
    </Box>
  );
}
