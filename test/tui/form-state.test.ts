import { describe, expect, test } from "bun:test";
import { changedValues, formReducer, helpOf, isChanged, isLastField, openForm, parseForm, type FieldSpec, type FormState } from "../../tui/state/form";

const fields: FieldSpec[] = [
  { name: "name", label: "Name", kind: "text", required: true },
  { name: "concurrency", label: "Concurrency", kind: "int" },
  { name: "models", label: "Models", kind: "list" },
  { name: "group", label: "Group", kind: "choice", choices: ["either", "official", "special"] },
  { name: "map", label: "Model map", kind: "map" },
];
const type = (s: FormState, text: string) => [...text].reduce((f, ch) => formReducer(f, { type: "key", name: ch, input: ch }), s);

describe("form editing", () => {
  test("initial values become text; choices default to the first", () => {
    const f = openForm("x", "X", fields, { concurrency: 3, models: ["a", "b"], map: { gpt: "gpt-4o" } });
    expect(f.values).toEqual({ name: "", concurrency: "3", models: "a,b", group: "either", map: "gpt=gpt-4o" });
  });

  test("typing, backspace, and moving between fields", () => {
    let f = type(openForm("x", "X", fields), "alicex");
    f = formReducer(f, { type: "key", name: "backspace", input: "" });
    expect(f.values.name).toBe("alice");
    f = formReducer(f, { type: "prev" });
    expect(f.focus).toBe(0);
    for (let i = 0; i < 10; i++) f = formReducer(f, { type: "next" });
    expect(f.focus).toBe(4);
    expect(isLastField(f)).toBe(true);
  });

  test("control keys do not type", () => {
    const f = openForm("x", "X", fields);
    expect(formReducer(f, { type: "key", name: "enter", input: "" })).toBe(f);
    expect(formReducer(f, { type: "key", name: "ctrl+a", input: "a" })).toBe(f);
  });

  test("choice fields cycle with left/right and space, and ignore typing", () => {
    let f = openForm("x", "X", fields);
    f = { ...f, focus: 3 };
    expect(formReducer(f, { type: "choice", by: 1 }).values.group).toBe("official");
    expect(formReducer(f, { type: "choice", by: -1 }).values.group).toBe("special");
    expect(formReducer(f, { type: "key", name: " ", input: " " }).values.group).toBe("official");
    expect(type(f, "zz").values.group).toBe("either");
  });

  test("a busy form ignores keys until the answer comes", () => {
    const busy = formReducer(openForm("x", "X", fields), { type: "busy", busy: true });
    expect(type(busy, "a")).toBe(busy);
    expect(formReducer(busy, { type: "error", message: "taken" })).toMatchObject({ busy: false, error: "taken" });
  });
});

describe("what changed, and help that follows other fields", () => {
  test("isChanged compares with the values the form opened with, blanks around aside", () => {
    let f = openForm("x", "X", fields, { name: "alice", group: "official" });
    expect(fields.some((x) => isChanged(f, x.name))).toBe(false);
    f = formReducer({ ...f, focus: 3 }, { type: "choice", by: 1 });
    expect(isChanged(f, "group")).toBe(true);
    f = formReducer(f, { type: "choice", by: -1 });
    expect(isChanged(f, "group")).toBe(false);
    expect(isChanged({ ...f, values: { ...f.values, name: "alice " } }, "name")).toBe(false);
    expect(isChanged({ ...f, values: { ...f.values, name: "" } }, "name")).toBe(true);
  });

  test("changedValues sends only what changed; a cleared field as its cleared value, else null", () => {
    const f = openForm("x", "X", fields, { name: "alice", concurrency: 3, models: ["a"], map: { a: "b" } });
    const edited = { ...f, values: { ...f.values, concurrency: "", models: "a, b", map: "" } };
    const parsed = parseForm(edited);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(changedValues(edited, parsed.values, { map: {} })).toEqual({ concurrency: null, models: ["a", "b"], map: {} });
    expect(changedValues(f, { name: "alice", concurrency: 3 })).toEqual({});
  });

  test("a help function is given the current values", () => {
    const url: FieldSpec = { name: "url", label: "URL", kind: "text", help: (v) => (v.group === "special" ? "a special URL" : "any URL") };
    const f = openForm("x", "X", [...fields, url]);
    expect(helpOf(f, url)).toBe("any URL");
    expect(helpOf({ ...f, values: { ...f.values, group: "special" } }, url)).toBe("a special URL");
    expect(helpOf(f, { ...url, help: "fixed" })).toBe("fixed");
  });
});

describe("parseForm", () => {
  const parse = (values: Record<string, string>) => parseForm({ ...openForm("x", "X", fields), values: { ...openForm("x", "X", fields).values, ...values } });

  test("types values and leaves blanks out", () => {
    expect(parse({ name: " alice ", concurrency: "5", models: "a, b c", map: "x=y,z=w" })).toEqual({
      ok: true,
      values: { name: "alice", concurrency: 5, models: ["a", "b", "c"], group: "either", map: { x: "y", z: "w" } },
    });
    expect(parse({ name: "a" })).toEqual({ ok: true, values: { name: "a", group: "either" } });
  });

  test("names the bad field", () => {
    expect(parse({ name: "" })).toMatchObject({ ok: false, error: "Name: required", field: 0 });
    expect(parse({ name: "a", concurrency: "3.5" })).toMatchObject({ ok: false, field: 1 });
    expect(parse({ name: "a", map: "novalue" })).toMatchObject({ ok: false, field: 4 });
  });
});
