import { useCallback, useEffect, useRef } from "react";
import { commandFor } from "../keybindings";
import { modalReducer, noModal, type Modal, type ModalAction } from "../state/modal";
import { isLastField, parseForm, type FormAction, type FormState } from "../state/form";
import { describeError } from "../state/status";
import { useSyncReducer } from "./use-sync-reducer";
import { useUi } from "./use-ui";

/** Submits one form. The text returned goes to the status line; a throw keeps the form open showing the error. */
export type SubmitHandler = (values: Record<string, unknown>, form: FormState) => Promise<string | void>;
/** Runs one confirmed action. The text returned goes to the status line, a throw too (as an error). */
export type ConfirmHandler = (target: string | number) => Promise<string | void>;
/** An option was chosen in a picker: its value (the option itself unless the picker gave values) and the picker's target. */
export type PickHandler = (value: string, target: string | number | undefined) => void;

/** A view's handlers for its modals, each keyed by the id the modal was opened with ("user-create", "key-delete"). */
export type ModalHandlers = {
  submit?: Readonly<Record<string, SubmitHandler>>;
  confirm?: Readonly<Record<string, ConfirmHandler>>;
  pick?: Readonly<Record<string, PickHandler>>;
};

/**
 * What covers a view's list, and the keys that drive it: forms (typing, moving, submitting), yes/no
 * questions, shown secrets (hidden by a key or by their timer) and pickers. State is read
 * synchronously, so keys that arrive together are applied in order.
 */
export function useModal(handlers: ModalHandlers) {
  const ui = useUi();
  const [modal, dispatch, getModal] = useSyncReducer(modalReducer, noModal as Modal);
  const latest = useRef(handlers);
  latest.current = handlers;

  const formAct = (action: FormAction) => dispatch({ type: "form-action", action });
  const stillOpen = (id: string) => {
    const m = getModal();
    return m.kind === "form" && m.form.id === id;
  };

  const submitForm = async (form: FormState) => {
    if (form.busy) return;
    const parsed = parseForm(form);
    if (!parsed.ok) return formAct({ type: "error", message: parsed.error });
    const submit = latest.current.submit?.[form.id];
    if (!submit) return dispatch({ type: "close" });
    formAct({ type: "busy", busy: true });
    ui.report({ kind: "busy", text: `${form.title}…` });
    try {
      const text = await submit(parsed.values, form);
      if (stillOpen(form.id)) dispatch({ type: "close" });
      ui.report({ kind: "info", text: text || `${form.title}: done` });
    } catch (e) {
      const text = describeError(e);
      if (stillOpen(form.id)) formAct({ type: "error", message: text });
      ui.report({ kind: "error", text: `${form.title}: ${text}` });
    }
  };

  const runConfirm = async (id: string, target: string | number) => {
    dispatch({ type: "close" });
    const confirm = latest.current.confirm?.[id];
    if (!confirm) return;
    try {
      const text = await confirm(target);
      if (text) ui.report({ kind: "info", text });
    } catch (e) {
      ui.report({ kind: "error", text: describeError(e) });
    }
  };

  /** Handles one key while a modal is open. */
  const modalKey = (m: Exclude<Modal, { kind: "none" }>, name: string, input: string) => {
    switch (m.kind) {
      case "form": {
        const c = commandFor(["form"], name);
        if (c === "form-cancel") return dispatch({ type: "close" });
        if (c === "form-next") return formAct({ type: "next" });
        if (c === "form-prev") return formAct({ type: "prev" });
        if (c === "form-choice") return formAct({ type: "choice", by: name === "left" ? -1 : 1 });
        if (c === "form-enter") return isLastField(m.form) ? void submitForm(m.form) : formAct({ type: "next" });
        return formAct({ type: "key", name, input });
      }
      case "confirm": {
        const c = commandFor(["confirm"], name);
        if (c === "confirm-yes") return void runConfirm(m.id, m.target);
        if (c === "confirm-no") return dispatch({ type: "close" });
        return;
      }
      case "secret":
        if (commandFor(["secret"], name)) dispatch({ type: "close" });
        return;
      case "pick": {
        const c = commandFor(["list"], name);
        if (c === "up" || c === "down") return dispatch({ type: "pick-move", by: c === "up" ? -1 : 1 });
        if (c === "close") return dispatch({ type: "close" });
        const value = m.values?.[m.index] ?? m.options[m.index];
        if (c === "open" && value !== undefined) {
          dispatch({ type: "close" });
          latest.current.pick?.[m.id]?.(value, m.target);
        }
        return;
      }
    }
  };

  // A secret shown for a while hides itself.
  const hideAt = modal.kind === "secret" ? modal.hideAt : null;
  useEffect(() => {
    if (hideAt === null) return;
    const t = setTimeout(() => dispatch({ type: "tick", now: Date.now() }), Math.max(0, hideAt - Date.now()) + 20);
    return () => clearTimeout(t);
  }, [hideAt, dispatch]);

  const openModal = useCallback((a: ModalAction) => dispatch(a), [dispatch]);
  return { modal, openModal, getModal, modalKey };
}
