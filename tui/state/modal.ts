import { formReducer, type FormAction, type FormState } from "./form";

/**
 * What covers a view's list: nothing, a form, a yes/no question, a secret shown for a while (a new key
 * once, a revealed key for a few seconds) or a picker (the Ledger view's user, an org's member).
 */
export type Modal =
  | { kind: "none" }
  | { kind: "form"; form: FormState }
  | { kind: "confirm"; id: string; prompt: string; target: string | number }
  | { kind: "secret"; title: string; secret: string; note: string; hideAt: number | null }
  | { kind: "pick"; id: string; title: string; options: readonly string[]; values?: readonly string[]; index: number; target?: string | number };

export type ModalAction =
  | { type: "form"; form: FormState }
  | { type: "form-action"; action: FormAction }
  | { type: "confirm"; id: string; prompt: string; target: string | number }
  | { type: "secret"; title: string; secret: string; note: string; hideAt: number | null }
  /** `values`: what each option stands for, when its text is more than that (a member's name and role); `target`: what the picker is about (an org). */
  | { type: "pick"; id: string; title: string; options: readonly string[]; values?: readonly string[]; current?: string | null; target?: string | number }
  | { type: "pick-move"; by: number }
  | { type: "tick"; now: number }
  | { type: "close" };

export const noModal: Modal = { kind: "none" };

export function modalReducer(s: Modal, a: ModalAction): Modal {
  switch (a.type) {
    case "form":
      return { kind: "form", form: a.form };
    case "form-action":
      return s.kind === "form" ? { ...s, form: formReducer(s.form, a.action) } : s;
    case "confirm":
      return { kind: "confirm", id: a.id, prompt: a.prompt, target: a.target };
    case "secret":
      return { kind: "secret", title: a.title, secret: a.secret, note: a.note, hideAt: a.hideAt };
    case "pick":
      return {
        kind: "pick", id: a.id, title: a.title, options: a.options, values: a.values, target: a.target,
        index: Math.max(0, a.current ? (a.values ?? a.options).indexOf(a.current) : 0),
      };
    case "pick-move":
      return s.kind === "pick" && s.options.length > 0
        ? { ...s, index: Math.max(0, Math.min(s.options.length - 1, s.index + a.by)) }
        : s;
    case "tick":
      return s.kind === "secret" && s.hideAt !== null && a.now >= s.hideAt ? noModal : s;
    case "close":
      return s.kind === "none" ? s : noModal;
  }
}
