import { Box, Text } from "ink";
import { fit, fitMiddle } from "../format";

export type Column<T> = {
  title: string;
  /** Cells wide, or "flex" for the column that takes what is left. */
  width: number | "flex";
  align?: "left" | "right";
  /** Where a cell too long for the column loses characters. @default "end" */
  cut?: "end" | "middle";
  cell: (row: T) => string;
  color?: (row: T) => string | undefined;
};

/** Column widths for `total` cells: fixed ones as asked, the flex one gets the rest; columns that no longer fit are dropped. */
export function layoutColumns<T>(columns: readonly Column<T>[], total: number): { col: Column<T>; width: number }[] {
  const fixed = columns.reduce((n, c) => n + (c.width === "flex" ? 0 : c.width + 1), 0);
  const flex = Math.max(10, total - fixed);
  const out: { col: Column<T>; width: number }[] = [];
  let used = 0;
  for (const col of columns) {
    const want = col.width === "flex" ? flex : col.width;
    const width = Math.min(want, total - used - (out.length ? 1 : 0));
    if (width < 3) break;
    out.push({ col, width });
    used += width + (out.length > 1 ? 1 : 0);
  }
  return out;
}

type Props<T> = {
  columns: readonly Column<T>[];
  /** The visible rows only (already windowed). */
  rows: readonly T[];
  /** Index of the selected row within `rows`, -1 for none. */
  selected: number;
  width: number;
  /** Lines for rows, not counting the header line. */
  height: number;
  keyOf: (row: T) => string | number;
};

/** A header line and exactly `height` row lines (blank-padded), so the frame keeps its shape as data changes. */
export function Table<T>({ columns, rows, selected, width, height, keyOf }: Props<T>) {
  const laid = layoutColumns(columns, width);
  const line = (cells: string[]) => cells.join(" ");
  return (
    <Box flexDirection="column" width={width} height={height + 1}>
      <Text bold dimColor wrap="truncate">
        {line(laid.map(({ col, width: w }) => fit(col.title, w, col.align)))}
      </Text>
      {rows.map((row, i) => (
        <Text key={keyOf(row)} inverse={i === selected} wrap="truncate">
          {laid.map(({ col, width: w }, j) => (
            <Text key={col.title} color={col.color?.(row)}>
              {(j ? " " : "") + (col.cut === "middle" ? fitMiddle : fit)(col.cell(row), w, col.align)}
            </Text>
          ))}
        </Text>
      ))}
    </Box>
  );
}
