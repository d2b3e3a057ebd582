import { describe, expect, test } from "bun:test";
import { filterPrompt, filterRows, fitOffset, initialList, listReducer, resolveSelection, visibleWindow, type FilterField, type ListState } from "../../tui/state/list";

const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from);
const move = (s: ListState, by: number, list: number[], height = 5) => listReducer(s, { type: "move", by, ids: list, height });

describe("list selection", () => {
  test("moves within bounds; top and bottom clamp", () => {
    let s = move(initialList, 1, ids(10));
    expect(resolveSelection(s, ids(10))).toEqual({ index: 1, id: 2 });
    s = move(s, -5, ids(10));
    expect(s.selectedId).toBe(1);
    s = move(s, Infinity, ids(10));
    expect(s.selectedId).toBe(10);
    s = move(s, 3, ids(10));
    expect(s.selectedId).toBe(10);
    s = move(s, -Infinity, ids(10));
    expect(s.selectedId).toBe(1);
  });

  test("the selection follows its row's id when new rows arrive on top", () => {
    const s = move(move(initialList, 1, [5, 4, 3]), 1, [5, 4, 3]);
    expect(s.selectedId).toBe(3);
    expect(resolveSelection(s, [7, 6, 5, 4, 3])).toEqual({ index: 4, id: 3 });
  });

  test("a vanished row leaves the selection at its index, clamped", () => {
    const s = move(initialList, 2, [1, 2, 3, 4]);
    expect(resolveSelection(s, [1, 2, 4])).toEqual({ index: 2, id: 4 });
    expect(resolveSelection(s, [1])).toEqual({ index: 0, id: 1 });
    expect(resolveSelection(s, [])).toEqual({ index: -1, id: null });
  });

  test("without a choice, the first row is selected (a live list keeps showing the newest)", () => {
    expect(resolveSelection(initialList, [9, 8])).toEqual({ index: 0, id: 9 });
  });

  test("select by id", () => {
    const s = listReducer(initialList, { type: "select", id: 7, ids: ids(10), height: 3 });
    expect(s.selectedId).toBe(7);
    expect(s.offset).toBe(4);
    expect(listReducer(s, { type: "select", id: 99, ids: ids(10), height: 3 })).toBe(s);
  });
});

describe("scrolling window", () => {
  test("fitOffset keeps the index visible and the window inside the list", () => {
    expect(fitOffset(0, 0, 5, 100)).toBe(0);
    expect(fitOffset(0, 7, 5, 100)).toBe(3);
    expect(fitOffset(10, 7, 5, 100)).toBe(7);
    expect(fitOffset(90, 99, 5, 100)).toBe(95);
    expect(fitOffset(50, 2, 5, 3)).toBe(0);
  });

  test("paging down a long list scrolls so the selection is the last visible row", () => {
    let s = initialList;
    for (let i = 0; i < 3; i++) s = move(s, 4, ids(100), 5);
    expect(s.selectedId).toBe(13);
    const w = visibleWindow(s, ids(100), ids(100), 5);
    expect(w.rows).toEqual([9, 10, 11, 12, 13]);
    expect(w.index).toBe(12);
  });

  test("a taller terminal shows more rows from the same offset", () => {
    const s = move(initialList, 20, ids(100), 5);
    expect(visibleWindow(s, ids(100), ids(100), 30).rows.length).toBe(30);
  });
});

describe("filter and details", () => {
  test("filter mode edits text and resets scrolling; esc clears", () => {
    let s = listReducer({ ...initialList, offset: 9, open: true }, { type: "filter-start" });
    expect(s).toMatchObject({ filtering: true, open: false });
    s = listReducer(s, { type: "filter-text", text: "ali" });
    expect(s).toMatchObject({ filter: "ali", offset: 0 });
    expect(listReducer(s, { type: "filter-apply" })).toMatchObject({ filtering: false, filter: "ali" });
    expect(listReducer(s, { type: "filter-clear" })).toMatchObject({ filtering: false, filter: "" });
  });

  test("filterRows matches every word, case-insensitively", () => {
    const rows = ["Alice admin", "bob user", "alicia user"];
    const whole = [{ name: "text", text: (r: string) => r }];
    expect(filterRows(rows, "ALI", whole)).toEqual(["Alice admin", "alicia user"]);
    expect(filterRows(rows, "ali user", whole)).toEqual(["alicia user"]);
    expect(filterRows(rows, "  ", whole)).toEqual(rows);
  });

  test("filterRows searches only the given fields; each word in one of them", () => {
    type Row = { name: string; role: string; note: string | null };
    const rows: Row[] = [
      { name: "alice", role: "user", note: null },
      { name: "peter", role: "user", note: "ops" },
      { name: "root", role: "admin", note: "server" },
    ];
    const fields: FilterField<Row>[] = [{ name: "name", text: (r) => r.name }, { name: "note", text: (r) => r.note }];
    expect(filterRows(rows, "er", fields).map((r) => r.name)).toEqual(["peter", "root"]);
    expect(filterRows(rows, "user", fields)).toEqual([]);
    expect(filterRows(rows, "pet ops", fields).map((r) => r.name)).toEqual(["peter"]);
    expect(filterRows(rows, "rops", fields)).toEqual([]);
    expect(filterPrompt(fields)).toBe("filter by name, note");
  });

  test("open and close the details pane", () => {
    const s = listReducer(initialList, { type: "open" });
    expect(s.open).toBe(true);
    expect(listReducer(s, { type: "close" }).open).toBe(false);
  });
});
