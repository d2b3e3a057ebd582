import { editText } from "./text";

/**
 * A form: fields typed as text, integers, comma lists, `a=b` maps, secrets or a fixed choice.
 * Values are edited as strings; `parseForm` turns them into the request body's values.
 */
export type FieldKind = "text" | "int" | "list" | "map" | "secret" | "choice";

export type FieldSpec = {
  name: string;
  label: string;
  kind: FieldKind;
  required?: boolean;
  choices?: readonly string[];
  /** Shown after the value while the field is focused; a function when it depends on other fields (a URL on the type). */
  help?: string | ((values: Readonly<Record<string, string>>) => string);
};

export type FormState = {
  /** Which action submitting runs, e.g. "user-create". */
  id: string;
  title: string;
  fields: readonly FieldSpec[];
  values: Record<string, string>;
  /** The values as opened, so an edit can send only what changed. */
  initial: Readonly<Record<string, string>>;
  focus: number;
  error: string | null;
  busy: boolean;
  /** Free context for the submit handler (the row being edited). */
  target?: string | number;
};

export type FormAction =
  | { type: "next" }
  | { type: "prev" }
  | { type: "key"; name: string; input: string }
  | { type: "choice"; by: number }
  | { type: "error"; message: string | null }
  | { type: "busy"; busy: boolean };

type Initial = Record<string, string | number | boolean | readonly string[] | Record<string, string> | null | undefined>;

function toText(v: Initial[string]): string {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.join(",");
  if (typeof v === "object") return Object.entries(v).map(([k, x]) => `${k}=${x}`).join(",");
  return String(v);
}

export function openForm(id: string, title: string, fields: readonly FieldSpec[], initial: Initial = {}, target?: string | number): FormState {
  const values: Record<string, string> = {};
  for (const f of fields) values[f.name] = f.kind === "choice" && initial[f.name] == null ? (f.choices?.[0] ?? "") : toText(initial[f.name]);
  return { id, title, fields, values, initial: { ...values }, focus: 0, error: null, busy: false, target };
}

/** The field's text differs from what the form opened with (surrounding blanks aside). */
export const isChanged = (s: FormState, name: string) => (s.values[name] ?? "").trim() !== (s.initial[name] ?? "").trim();

/**
 * The PATCH body of an edit: only the fields whose text changed, so an edit never re-sends (and is never
 * refused over) a value it did not touch, such as an expiry that has passed. A field cleared to blank is
 * sent as `cleared[name]` when given, else null (no limit, no expiry, every model).
 */
export function changedValues(s: FormState, values: Record<string, unknown>, cleared: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const f of s.fields) if (isChanged(s, f.name)) body[f.name] = values[f.name] ?? (f.name in cleared ? cleared[f.name] : null);
  return body;
}

export const helpOf = (s: FormState, f: FieldSpec) => (typeof f.help === "function" ? f.help(s.values) : f.help);

export const isLastField = (s: FormState) => s.focus === s.fields.length - 1;

export function formReducer(s: FormState, a: FormAction): FormState {
  if (s.busy && a.type !== "busy" && a.type !== "error") return s;
  const field = s.fields[s.focus]!;
  switch (a.type) {
    case "next":
      return { ...s, focus: Math.min(s.fields.length - 1, s.focus + 1) };
    case "prev":
      return { ...s, focus: Math.max(0, s.focus - 1) };
    case "key": {
      if (field.kind === "choice") return a.name === " " ? formReducer(s, { type: "choice", by: 1 }) : s;
      const next = editText(s.values[field.name] ?? "", a.name, a.input);
      return next === null ? s : { ...s, values: { ...s.values, [field.name]: next }, error: null };
    }
    case "choice": {
      const choices = field.choices ?? [];
      if (field.kind !== "choice" || choices.length === 0) return s;
      const i = (choices.indexOf(s.values[field.name] ?? "") + a.by + choices.length) % choices.length;
      return { ...s, values: { ...s.values, [field.name]: choices[i]! } };
    }
    case "error":
      return { ...s, error: a.message, busy: false };
    case "busy":
      return { ...s, busy: a.busy };
  }
}

export type Parsed = { ok: true; values: Record<string, unknown> } | { ok: false; error: string; field: number };

/** Blank optional fields are left out (undefined); invalid values name the field. */
export function parseForm(s: FormState): Parsed {
  const values: Record<string, unknown> = {};
  for (let i = 0; i < s.fields.length; i++) {
    const f = s.fields[i]!;
    const raw = (s.values[f.name] ?? "").trim();
    const fail = (why: string): Parsed => ({ ok: false, error: `${f.label}: ${why}`, field: i });
    if (raw === "") {
      if (f.required) return fail("required");
      continue;
    }
    switch (f.kind) {
      case "int":
        if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) return fail(`'${raw}' is not a whole number`);
        values[f.name] = Number(raw);
        break;
      case "list":
        values[f.name] = raw.split(/[\s,]+/).filter(Boolean);
        break;
      case "map": {
        const map: Record<string, string> = {};
        for (const pair of raw.split(/[\s,]+/).filter(Boolean)) {
          const eq = pair.indexOf("=");
          if (eq <= 0 || eq === pair.length - 1) return fail(`'${pair}' is not name=value`);
          map[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        values[f.name] = map;
        break;
      }
      case "secret":
        values[f.name] = s.values[f.name];
        break;
      default:
        values[f.name] = raw;
    }
  }
  return { ok: true, values };
}
