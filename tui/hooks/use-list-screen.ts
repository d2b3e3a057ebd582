import { useInput } from "ink";
import { useRef } from "react";
import { commandFor, keysOf, type Command, type Relabel, type Scope } from "../keybindings";
import { filterPrompt, filterRows, initialList, listReducer, resolveSelection, visibleWindow, type FilterField, type ListState, type RowId } from "../state/list";
import type { Modal } from "../state/modal";
import { editText, splitKeys } from "../state/text";
import { useModal, type ModalHandlers } from "./use-modal";
import { useSyncReducer } from "./use-sync-reducer";
import { useUi, useViewScopes } from "./use-ui";

export type ScreenOptions<T> = ModalHandlers & {
  rows: readonly T[];
  idOf: (row: T) => RowId;
  /** The columns the `/` filter searches. */
  filterBy: readonly FilterField<T>[];
  /** Table rows visible at once: the page size and the scrolling window. */
  height: number;
  /** The view is on screen and not covered by the help screen. */
  active: boolean;
  /** The view's own scope in the keybinding table. */
  scope?: Scope;
  /** The view's commands; each gets the selected row (undefined in an empty list). */
  commands?: Partial<Record<Command, (row: T | undefined) => void>>;
  /** Footer words for the view's commands that do not apply to the selected row (given that row). */
  relabel?: (row: T | undefined) => Relabel;
};

/** The scopes whose keys work now: the open modal's, the filter's, or the view's and the list's. */
function scopesOf(modal: Modal, list: ListState, scope: Scope | undefined): Scope[] {
  if (modal.kind === "form") return ["form"];
  if (modal.kind === "confirm") return ["confirm"];
  if (modal.kind === "secret") return ["secret"];
  if (modal.kind === "pick") return ["list"];
  if (list.filtering) return ["filter"];
  return scope ? [scope, "list"] : ["list"];
}

/**
 * Everything a list view does with keys: moving, paging, filtering, opening details, the view's own
 * commands, and (through `useModal`) its forms, confirmations, shown secrets and pickers. One
 * `useInput`, active only while the view is shown; it reads state synchronously, so keys that arrive
 * together are applied in order.
 */
export function useListScreen<T>(o: ScreenOptions<T>) {
  const ui = useUi();
  const [list, dispatchList, getList] = useSyncReducer(listReducer, initialList);
  const { modal, openModal, getModal, modalKey } = useModal(o);
  const filtered = filterRows(o.rows, list.filter, o.filterBy);
  const ids = filtered.map(o.idOf);
  const win = visibleWindow(list, filtered, ids, o.height);
  const latest = useRef({ o, filtered, ids });
  latest.current = { o, filtered, ids };

  const selectedRow = () => {
    const { filtered, ids } = latest.current;
    const { index } = resolveSelection(getList(), ids);
    return index < 0 ? undefined : filtered[index];
  };

  const filterKey = (l: ListState, name: string, input: string) => {
    const c = commandFor(["filter"], name);
    if (c === "filter-apply") return dispatchList({ type: "filter-apply" });
    if (c === "filter-clear") return dispatchList({ type: "filter-clear" });
    const text = editText(l.filter, name, input);
    if (text !== null) dispatchList({ type: "filter-text", text });
  };

  const handleKey = (name: string, input: string) => {
    const m = getModal();
    const l = getList();
    if (commandFor(scopesOf(m, l, latest.current.o.scope), name)) ui.commandRan();
    if (m.kind !== "none") return modalKey(m, name, input);
    if (l.filtering) return filterKey(l, name, input);
    const { o, ids } = latest.current;
    const c = commandFor(o.scope ? [o.scope, "list"] : ["list"], name);
    const move = (by: number) => dispatchList({ type: "move", by, ids, height: o.height });
    switch (c) {
      case undefined:
        return;
      case "up":
        return move(-1);
      case "down":
        return move(1);
      case "page-up":
        return move(-Math.max(1, o.height - 1));
      case "page-down":
        return move(Math.max(1, o.height - 1));
      case "top":
        return move(-Infinity);
      case "bottom":
        return move(Infinity);
      case "open":
        if (ids.length > 0) dispatchList({ type: "open" });
        return;
      case "close":
        return dispatchList(l.open ? { type: "close" } : { type: "filter-clear" });
      case "filter":
        return dispatchList({ type: "filter-start" });
      default:
        o.commands?.[c]?.(selectedRow());
    }
  };

  useInput(
    (input, key) => {
      for (const k of keysOf(input, key)) for (const one of splitKeys(k.name, k.input)) handleKey(one.name, one.input);
    },
    { isActive: o.active },
  );

  const selected = win.index < 0 ? undefined : filtered[win.index];
  const captured = modal.kind !== "none" || list.filtering;
  useViewScopes(scopesOf(modal, list, o.scope), captured, captured ? {} : o.relabel?.(selected));

  return {
    list, dispatchList, modal, openModal, getModal, filtered, window: win, selected,
    filterLabel: filterPrompt(o.filterBy),
  };
}
