/**
 * A scrolling, filterable list whose selection follows a row's id across refreshes: when new rows
 * arrive above it, the same row stays selected; when it disappears, the selection stays at its index.
 */
export type RowId = string | number;

export type ListState = {
  selectedId: RowId | null;
  /** Index of the selection when it was last set; the fallback when its row disappears. */
  index: number;
  /** First visible row. */
  offset: number;
  filter: string;
  filtering: boolean;
  /** The details pane of the selected row is open. */
  open: boolean;
};

export const initialList: ListState = { selectedId: null, index: 0, offset: 0, filter: "", filtering: false, open: false };

export type ListAction =
  | { type: "move"; by: number; ids: readonly RowId[]; height: number }
  | { type: "select"; id: RowId; ids: readonly RowId[]; height: number }
  | { type: "filter-start" }
  | { type: "filter-text"; text: string }
  | { type: "filter-apply" }
  | { type: "filter-clear" }
  | { type: "open" }
  | { type: "close" };

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, n));

/** Where the selection is in `ids` now: its row if present, else the remembered index clamped to the list. */
export function resolveSelection(s: ListState, ids: readonly RowId[]): { index: number; id: RowId | null } {
  if (ids.length === 0) return { index: -1, id: null };
  const found = s.selectedId === null ? -1 : ids.indexOf(s.selectedId);
  const index = found >= 0 ? found : clamp(s.index, 0, ids.length - 1);
  return { index, id: ids[index]! };
}

/** The first visible row such that `index` is inside a window of `height` rows over `count` rows. */
export function fitOffset(offset: number, index: number, height: number, count: number): number {
  const h = Math.max(1, height);
  let o = clamp(offset, 0, Math.max(0, count - h));
  if (index < o) o = index;
  if (index >= o + h) o = index - h + 1;
  return Math.max(0, o);
}

function selectIndex(s: ListState, ids: readonly RowId[], index: number, height: number): ListState {
  if (ids.length === 0) return { ...s, selectedId: null, index: 0, offset: 0 };
  const i = clamp(index, 0, ids.length - 1);
  return { ...s, selectedId: ids[i]!, index: i, offset: fitOffset(s.offset, i, height, ids.length) };
}

export function listReducer(s: ListState, a: ListAction): ListState {
  switch (a.type) {
    case "move": {
      const { index } = resolveSelection(s, a.ids);
      return selectIndex(s, a.ids, index + a.by, a.height);
    }
    case "select": {
      const i = a.ids.indexOf(a.id);
      return i === -1 ? s : selectIndex(s, a.ids, i, a.height);
    }
    case "filter-start":
      return { ...s, filtering: true, open: false };
    case "filter-text":
      return { ...s, filter: a.text, offset: 0 };
    case "filter-apply":
      return { ...s, filtering: false };
    case "filter-clear":
      return { ...s, filter: "", filtering: false, offset: 0 };
    case "open":
      return { ...s, open: true };
    case "close":
      return { ...s, open: false };
  }
}

/**
 * A column the `/` filter searches, named as the filter prompt names it. Each view lists only the
 * columns a person means when typing (a user's name, not its role), so a few letters do not match
 * every row through a column that has the same value in all of them.
 */
export type FilterField<T> = { name: string; text: (row: T) => string | null | undefined };

/** Rows where every word of the filter is in one of `fields`, case-insensitively. */
export function filterRows<T>(rows: readonly T[], filter: string, fields: readonly FilterField<T>[]): T[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...rows];
  return rows.filter((r) => {
    const texts = fields.map((f) => (f.text(r) ?? "").toLowerCase());
    return words.every((w) => texts.some((t) => t.includes(w)));
  });
}

/** "filter by name, label": what the prompt says the filter searches. */
export const filterPrompt = (fields: readonly { name: string }[]) => `filter by ${fields.map((f) => f.name).join(", ")}`;

/** What to draw: the visible slice, the selected index inside the full list, and the window's start. */
export function visibleWindow<T>(s: ListState, rows: readonly T[], ids: readonly RowId[], height: number) {
  const { index, id } = resolveSelection(s, ids);
  const offset = index < 0 ? 0 : fitOffset(s.offset, index, height, rows.length);
  return { rows: rows.slice(offset, offset + Math.max(1, height)), offset, index, selectedId: id };
}
