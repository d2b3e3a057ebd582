import type { FieldSpec } from "../state/form";

/** The fields every key has, in the order the forms ask for them; `scopes` comes last and differs per form. */
const GROUP: FieldSpec = { name: "group", label: "Group", kind: "choice", choices: ["either", "official", "special"], help: "channels it may use (←/→)" };
const ALLOW_IPS: FieldSpec = { name: "allowIps", label: "IP allow-list", kind: "list", help: "CIDRs, comma-separated; blank = anywhere" };
const EXPIRES: FieldSpec = { name: "expiresAt", label: "Expires", kind: "text", help: "ISO 8601, e.g. 2026-12-31; blank = never" };
const MODELS: FieldSpec = { name: "models", label: "Models", kind: "list", help: "comma-separated; blank = all" };
const SPEND_LIMIT: FieldSpec = { name: "spendLimit", label: "Spend limit", kind: "int", help: "credits; blank = unlimited" };
const RPM: FieldSpec = { name: "rpm", label: "Requests/min", kind: "int", help: "blank = no cap of its own" };
const TPM: FieldSpec = { name: "tpm", label: "Tokens/min", kind: "int", help: "blank = no cap of its own" };
const SCOPE_NAMES = "inference, keys:read, keys:write, usage:read or full";

/** A personal key, from the Keys view. */
export const createKeyFields: FieldSpec[] = [
  { name: "user", label: "User", kind: "text", required: true },
  { name: "label", label: "Label", kind: "text", required: true },
  GROUP, ALLOW_IPS, EXPIRES, MODELS, SPEND_LIMIT,
  { name: "scopes", label: "Scopes", kind: "list", help: SCOPE_NAMES },
];

/** An org's service or member key, from the Orgs view; a member key without scopes gets its member's role's. */
export const orgKeyFields = (member: boolean): FieldSpec[] => [
  { name: "label", label: "Label", kind: "text", required: true },
  GROUP, ALLOW_IPS, EXPIRES, MODELS, SPEND_LIMIT, RPM, TPM,
  { name: "scopes", label: "Scopes", kind: "list", help: member ? `blank = what the member's role holds; ${SCOPE_NAMES}` : SCOPE_NAMES },
];

/** Editing a key: every field it has but its owner; scopes cannot be emptied. */
export const editKeyFields: FieldSpec[] = [
  { name: "label", label: "Label", kind: "text" },
  GROUP, ALLOW_IPS, EXPIRES, MODELS, SPEND_LIMIT, RPM, TPM,
  { name: "scopes", label: "Scopes", kind: "list", required: true, help: SCOPE_NAMES },
];

/** What an emptied field of the edit form sends: no label, no IP list; the others null (never, all models, no cap). */
export const keyEditCleared = { label: "", allowIps: [] } as const;

/** The note under a key shown once: whether an admin can reveal it again depends on how it was kept. */
export const shownOnceNote = (revealable: boolean) =>
  revealable ? "Shown once: copy it now. (An admin can reveal it again; reveals are audited.)" : "Shown once and write-once: relay keeps no copy. Copy it now.";
