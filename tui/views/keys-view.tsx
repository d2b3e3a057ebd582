import type { KeysApi, ViewProps } from "../api";
import type { KeyRow, UserRow } from "../types";
import { usePoll } from "../hooks/use-poll";
import { useAction } from "../hooks/use-action";
import { useListScreen } from "../hooks/use-list-screen";
import { ListFrame, tableRows } from "../components/list-frame";
import type { Column } from "../components/table";
import { openForm, type FieldSpec } from "../state/form";
import { num, when } from "../format";
import type { FilterField } from "../state/list";
import { KeyDetails } from "./key-details";

/** How long a revealed key stays on screen. @default 10 s */
export const REVEAL_MS = 10_000;

const createFields: FieldSpec[] = [
  { name: "user", label: "User", kind: "text", required: true },
  { name: "label", label: "Label", kind: "text", required: true },
  { name: "group", label: "Group", kind: "choice", choices: ["either", "official", "special"], help: "channels it may use (←/→)" },
  { name: "allowIps", label: "IP allow-list", kind: "list", help: "CIDRs, comma-separated; blank = anywhere" },
  { name: "expiresAt", label: "Expires", kind: "text", help: "ISO 8601, e.g. 2026-12-31; blank = never" },
  { name: "models", label: "Models", kind: "list", help: "comma-separated; blank = all" },
  { name: "spendLimit", label: "Spend limit", kind: "int", help: "credits; blank = unlimited" },
  { name: "scopes", label: "Scopes", kind: "list", help: "inference, keys:read, keys:write, usage:read or full" },
];

const filterBy: FilterField<KeyRow>[] = [
  { name: "label", text: (k) => k.label },
  { name: "prefix", text: (k) => k.prefix },
];

const describe = (k: KeyRow) => `#${k.id} ${k.prefix}${k.label ? ` "${k.label}"` : ""}`;

/** API keys: create (shown once), reveal for a few seconds, disable/enable, delete, per-hour usage. */
export function KeysView({ api, active, width, height, pollMs = 1500, revealMs = REVEAL_MS }: ViewProps<KeysApi> & { revealMs?: number }) {
  const keys = usePoll(() => api.keys.list().then((r) => r.data as KeyRow[]), pollMs);
  const users = usePoll(() => api.users.list().then((r) => r.data as UserRow[]), Math.max(pollMs, 3000));
  const act = useAction();
  const nameOf = (id: number) => users.data?.find((u) => u.id === id)?.name ?? `#${id}`;
  const error = keys.error ?? users.error;

  const columns: Column<KeyRow>[] = [
    { title: "ID", width: 4, align: "right", cell: (k) => String(k.id) },
    { title: "USER", width: 10, cell: (k) => nameOf(k.userId) },
    { title: "PREFIX", width: 15, cell: (k) => k.prefix },
    { title: "LABEL", width: "flex", cell: (k) => k.label || "-" },
    { title: "ON", width: 3, cell: (k) => (k.enabled ? "yes" : "no"), color: (k) => (k.enabled ? undefined : "red") },
    { title: "GROUP", width: 8, cell: (k) => k.group },
    { title: "SPENT/LIMIT", width: 13, align: "right", cell: (k) => `${num(k.spent)}/${k.spendLimit === null ? "∞" : num(k.spendLimit)}` },
    { title: "EXPIRES", width: 10, cell: (k) => (k.expiresAt ? when(k.expiresAt).slice(0, 10) : "never") },
  ];

  const screen = useListScreen<KeyRow>({
    rows: keys.data ?? [],
    idOf: (k) => k.id,
    filterBy,
    height: tableRows(height, error),
    active,
    scope: "keys",
    commands: {
      "key-create": (k) => {
        const user = k ? nameOf(k.userId) : (users.data?.[0]?.name ?? "");
        screen.openModal({ type: "form", form: openForm("key-create", "New API key", createFields, { user: user.startsWith("#") ? "" : user, scopes: ["full"] }) });
      },
      "key-reveal": (k) =>
        k && screen.openModal({ type: "confirm", id: "key-reveal", target: k.id, prompt: `Reveal key ${describe(k)}? It is shown for ${Math.round(revealMs / 1000)} s, and the reveal is written to the audit log.` }),
      "key-delete": (k) => k && screen.openModal({ type: "confirm", id: "key-delete", target: k.id, prompt: `Delete key ${describe(k)}? Requests with it fail from now on.` }),
      "key-toggle": (k) =>
        k && void act(`${k.enabled ? "disable" : "enable"} key #${k.id}`, () => api.keys.update(k.id, { enabled: !k.enabled }), () => {
          keys.refresh();
          return `key ${describe(k)} ${k.enabled ? "disabled" : "enabled"}`;
        }),
    },
    submit: {
      "key-create": async (v) => {
        const created = await api.keys.create(v);
        keys.refresh();
        screen.openModal({
          type: "secret",
          title: `New key #${created.id} for ${v.user}`,
          secret: String(created.key),
          note: "Shown once: copy it now. (An admin can reveal it again; reveals are audited.)",
          hideAt: null,
        });
        return `key #${created.id} created for ${v.user}`;
      },
    },
    confirm: {
      "key-reveal": async (target) => {
        const r = await api.keys.reveal(target);
        screen.openModal({ type: "secret", title: `Key #${target}`, secret: r.key, note: "Revealed; the server audited it.", hideAt: Date.now() + revealMs });
        return `key #${target} revealed (audited)`;
      },
      "key-delete": async (target) => {
        await api.keys.delete(target);
        keys.refresh();
        return `key #${target} deleted`;
      },
    },
  });

  const k = screen.selected;
  return (
    <ListFrame
      title="Keys"
      total={keys.data?.length}
      shown={screen.filtered.length}
      list={screen.list}
      filterLabel={screen.filterLabel}
      error={error}
      columns={columns}
      window={screen.window}
      keyOf={(r) => r.id}
      modal={screen.modal}
      width={width}
      height={height}
      empty="no keys yet: press n to create one"
      details={(w, h) => k && <KeyDetails api={api} k={k} user={nameOf(k.userId)} width={w} height={h} pollMs={pollMs} />}
    />
  );
}
