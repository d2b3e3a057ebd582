import { createContext, useContext, useLayoutEffect } from "react";
import type { Relabel, Scope } from "../keybindings";
import type { Status } from "../state/status";

/** What views tell the app around them: action outcomes for the status line, and which keys they answer now. */
export type Ui = {
  report: (status: Status) => void;
  /** A key ran one of the view's commands: the status line's last outcome is stale. */
  commandRan: () => void;
  /**
   * The scopes whose keys the view answers now (drawn in the footer). `captured`: a form, question,
   * picker or filter takes every key, so the global ones (q, ?, tab, the view numbers) stay off. `relabel`: footer
   * words for commands that do not apply to the selected row.
   */
  setScopes: (scopes: readonly Scope[], captured: boolean, relabel?: Relabel) => void;
};

export const UiContext = createContext<Ui>({ report: () => {}, commandRan: () => {}, setScopes: () => {} });

export const useUi = () => useContext(UiContext);

/** Publishes the view's scopes in a layout effect, so the app knows them before the next key arrives. */
export function useViewScopes(scopes: readonly Scope[], captured: boolean, relabel: Relabel = {}): void {
  const ui = useUi();
  const key = scopes.join(",");
  const words = JSON.stringify(relabel);
  useLayoutEffect(() => {
    ui.setScopes(key ? (key.split(",") as Scope[]) : [], captured, JSON.parse(words) as Relabel);
  }, [key, captured, words, ui]);
}
