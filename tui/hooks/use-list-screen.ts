import { useInput } from "ink";
import { useCallback, useEffect, useRef } from "react";
import { commandFor, keysOf, type Command, type Scope } from "../keybindings";
import { filterPrompt, filterRows, initialList, listReducer, resolveSelection, visibleWindow, type FilterField, type ListState, type RowId } from "../state/list";
import { modalReducer, noModal, type Modal, type ModalAction } from "../state/modal";
import { isLastField, parseForm, type FormAction, type FormState } from "../state/form";
import { editText, splitKeys } from "../state/text";
import { describeError } from "../state/status";
import { useSyncReducer } from "./use-sync-reducer";
import { useUi, useViewScopes } from "./use-ui";

export type ScreenOptions<T> = {
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
  /** Submits a form. The text returned goes to the status line; a throw keeps the form open showing the error. */
  submit?: (form: FormState, values: Record<string, unknown>) => Promise<string | void>;
  /** Runs a confirmed action. The text returned goes to the status line, a throw too (as an error). */
  confirm?: (id: string, target: string | number) => Promise<string | void>;
  /** An option was chosen in a picker. */
  pick?: (id: string, option: string) => void;
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
 * Everything a list view does with keys: moving, paging, filtering, opening details, and driving its
 * forms, confirmations, shown secrets and pickers. One `useInput`, active only while the view is shown;
 * it reads state synchronously, so keys that arrive together are applied in order.
 */
export function useListScreen<T>(o: ScreenOptions<T>) {
  const ui = useUi();
  const [list, dispatchList, getList] = useSyncReducer(listReducer, initialList);
  const [modal, dispatchModal, getModal] = useSyncReducer(modalReducer, noModal as Modal);
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
  const formAct = (action: FormAction) => dispatchModal({ type: "form-action", action });
  const stillOpen = (id: string) => {
    const m = getModal();
    return m.kind === "form" && m.form.id === id;
  };

  const submitForm = async (form: FormState) => {
    if (form.busy) return;
    const parsed = parseForm(form);
    if (!parsed.ok) return formAct({ type: "error", message: parsed.error });
    const submit = latest.current.o.submit;
    if (!submit) return dispatchModal({ type: "close" });
    formAct({ type: "busy", busy: true });
    ui.report({ kind: "busy", text: `${form.title}…` });
    try {
      const text = await submit(form, parsed.values);
      if (stillOpen(form.id)) dispatchModal({ type: "close" });
      ui.report({ kind: "info", text: text || `${form.title}: done` });
    } catch (e) {
      const text = describeError(e);
      if (stillOpen(form.id)) formAct({ type: "error", message: text });
      ui.report({ kind: "error", text: `${form.title}: ${text}` });
    }
  };

  const runConfirm = async (id: string, target: string | number) => {
    dispatchModal({ type: "close" });
    const confirm = latest.current.o.confirm;
    if (!confirm) return;
    try {
      const text = await confirm(id, target);
      if (text) ui.report({ kind: "info", text });
    } catch (e) {
      ui.report({ kind: "error", text: describeError(e) });
    }
  };

  const modalKey = (m: Exclude<Modal, { kind: "none" }>, name: string, input: string) => {
    switch (m.kind) {
      case "form": {
        const c = commandFor(["form"], name);
        if (c === "form-cancel") return dispatchModal({ type: "close" });
        if (c === "form-next") return formAct({ type: "next" });
        if (c === "form-prev") return formAct({ type: "prev" });
        if (c === "form-choice") return formAct({ type: "choice", by: name === "left" ? -1 : 1 });
        if (c === "form-enter") return isLastField(m.form) ? void submitForm(m.form) : formAct({ type: "next" });
        return formAct({ type: "key", name, input });
      }
      case "confirm": {
        const c = commandFor(["confirm"], name);
        if (c === "confirm-yes") return void runConfirm(m.id, m.target);
        if (c === "confirm-no") return dispatchModal({ type: "close" });
        return;
      }
      case "secret":
        if (commandFor(["secret"], name)) dispatchModal({ type: "close" });
        return;
      case "pick": {
        const c = commandFor(["list"], name);
        if (c === "up" || c === "down") return dispatchModal({ type: "pick-move", by: c === "up" ? -1 : 1 });
        if (c === "close") return dispatchModal({ type: "close" });
        if (c === "open" && m.options[m.index] !== undefined) {
          dispatchModal({ type: "close" });
          latest.current.o.pick?.(m.id, m.options[m.index]!);
        }
        return;
      }
    }
  };

  const handleKey = (name: string, input: string) => {
    const m = getModal();
    const l = getList();
    if (commandFor(scopesOf(m, l, latest.current.o.scope), name)) ui.commandRan();
    if (m.kind !== "none") return modalKey(m, name, input);
    if (l.filtering) {
      const c = commandFor(["filter"], name);
      if (c === "filter-apply") return dispatchList({ type: "filter-apply" });
      if (c === "filter-clear") return dispatchList({ type: "filter-clear" });
      const text = editText(l.filter, name, input);
      if (text !== null) dispatchList({ type: "filter-text", text });
      return;
    }
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

  useViewScopes(scopesOf(modal, list, o.scope), modal.kind !== "none" || list.filtering);

  // A secret shown for a while hides itself.
  const hideAt = modal.kind === "secret" ? modal.hideAt : null;
  useEffect(() => {
    if (hideAt === null) return;
    const t = setTimeout(() => dispatchModal({ type: "tick", now: Date.now() }), Math.max(0, hideAt - Date.now()) + 20);
    return () => clearTimeout(t);
  }, [hideAt, dispatchModal]);

  const openModal = useCallback((a: ModalAction) => dispatchModal(a), [dispatchModal]);
  return {
    list, dispatchList, modal, openModal, getModal, filtered, window: win, selected: win.index < 0 ? undefined : filtered[win.index],
    filterLabel: filterPrompt(o.filterBy),
  };
}
