import { expect, test } from "bun:test";
import { modalReducer, noModal } from "../../tui/state/modal";
import { openForm } from "../../tui/state/form";

test("a revealed secret hides itself at its time; a shown-once secret waits for a key", () => {
  const shown = modalReducer(noModal, { type: "secret", title: "k", secret: "sk", note: "", hideAt: 1000 });
  expect(modalReducer(shown, { type: "tick", now: 999 })).toBe(shown);
  expect(modalReducer(shown, { type: "tick", now: 1000 })).toEqual(noModal);
  const once = modalReducer(noModal, { type: "secret", title: "k", secret: "sk", note: "", hideAt: null });
  expect(modalReducer(once, { type: "tick", now: 1e15 })).toBe(once);
  expect(modalReducer(once, { type: "close" })).toEqual(noModal);
});

test("form actions reach the open form only", () => {
  const m = modalReducer(noModal, { type: "form", form: openForm("f", "F", [{ name: "a", label: "A", kind: "text" }]) });
  const typed = modalReducer(m, { type: "form-action", action: { type: "key", name: "x", input: "x" } });
  expect(typed.kind === "form" && typed.form.values.a).toBe("x");
  expect(modalReducer(noModal, { type: "form-action", action: { type: "next" } })).toBe(noModal);
});

test("a picker starts at the current option and stays in range", () => {
  let m = modalReducer(noModal, { type: "pick", id: "p", title: "P", options: ["a", "b", "c"], current: "b" });
  expect(m).toMatchObject({ kind: "pick", index: 1 });
  m = modalReducer(m, { type: "pick-move", by: 5 });
  expect(m).toMatchObject({ index: 2 });
  m = modalReducer(m, { type: "pick-move", by: -9 });
  expect(m).toMatchObject({ index: 0 });
  expect(modalReducer(noModal, { type: "pick", id: "p", title: "P", options: ["a"], current: "zz" })).toMatchObject({ index: 0 });
});

test("a confirmation carries what it confirms", () => {
  expect(modalReducer(noModal, { type: "confirm", id: "key-delete", prompt: "Delete?", target: 4 })).toEqual({ kind: "confirm", id: "key-delete", prompt: "Delete?", target: 4 });
});

test("a picker with values starts at the current value and carries its target", () => {
  const m = modalReducer(noModal, { type: "pick", id: "member-edit", title: "Whom?", options: ["alice (owner)", "bob (member)"], values: ["alice", "bob"], current: "bob", target: "acme" });
  expect(m).toMatchObject({ kind: "pick", index: 1, values: ["alice", "bob"], target: "acme" });
});
