import type { KeysApi, ViewProps } from "../api";
import type { KeyRow, OrgRow, UserRow } from "../types";
import { usePoll } from "../hooks/use-poll";
import { useAction } from "../hooks/use-action";
import { useUi } from "../hooks/use-ui";
import { useListScreen } from "../hooks/use-list-screen";
import { ListFrame, tableRows } from "../components/list-frame";
import type { Column } from "../components/table";
import { changedValues, openForm } from "../state/form";
import { num, when } from "../format";
import type { FilterField } from "../state/list";
import { KeyDetails } from "./key-details";
import { createKeyFields, editKeyFields, keyEditCleared, shownOnceNote } from "./key-fields";

/** How long a revealed key stays on screen. @default 10 s */
export const REVEAL_MS = 10_000;

/** Tables at least this wide have a KIND column; narrower ones leave the kind to the owner's form and the details. */
const KIND_COLUMN = 96;

const filterBy: FilterField<KeyRow>[] = [
  { name: "label", text: (k) => k.label },
  { name: "prefix", text: (k) => k.prefix },
];

const describe = (k: KeyRow) => `#${k.id} ${k.prefix}${k.label ? ` "${k.label}"` : ""}`;

/**
 * Whose a key is, in a few cells: a personal key its user, a member key `org/user`, a service key its
 * org. Names cannot contain `/`, so neither form can be mistaken for the other.
 */
export function ownerOf(k: KeyRow, users: readonly UserRow[] | undefined, orgs: readonly OrgRow[] | undefined): string {
  const user = k.userId === null ? null : (users?.find((u) => u.id === k.userId)?.name ?? `#${k.userId}`);
  if (k.kind === "personal") return user ?? `#${k.accountId}`;
  const org = orgs?.find((o) => o.id === k.accountId)?.name ?? `org #${k.accountId}`;
  return k.kind === "member" ? `${org}/${user}` : org;
}

/** API keys: create (shown once), edit, reveal for a few seconds (unless write-once), disable/enable, delete, per-hour usage. */
export function KeysView({ api, active, width, height, pollMs = 1500, revealMs = REVEAL_MS }: ViewProps<KeysApi> & { revealMs?: number }) {
  const keys = usePoll(() => api.keys.list().then((r) => r.data as KeyRow[]), pollMs);
  const users = usePoll(() => api.users.list().then((r) => r.data as UserRow[]), Math.max(pollMs, 3000));
  const orgs = usePoll(() => api.orgs.list().then((r) => r.data as OrgRow[]), Math.max(pollMs, 3000));
  const act = useAction();
  const ui = useUi();
  const owner = (k: KeyRow) => ownerOf(k, users.data, orgs.data);
  const error = keys.error ?? users.error ?? orgs.error;

  const columns = (tableWidth: number): Column<KeyRow>[] => [
    { title: "ID", width: 4, align: "right", cell: (k) => String(k.id) },
    ...(tableWidth >= KIND_COLUMN ? [{ title: "KIND", width: 8, cell: (k: KeyRow) => k.kind }] : []),
    { title: "OWNER", width: 10, cell: owner },
    { title: "PREFIX", width: 15, cell: (k) => k.prefix },
    { title: "LABEL", width: "flex", cell: (k) => k.label || "-" },
    { title: "ON", width: 3, cell: (k) => (k.enabled ? "yes" : "no"), color: (k) => (k.enabled ? undefined : "red") },
    { title: "GROUP", width: 8, cell: (k) => k.group },
    { title: "SPENT/LIMIT", width: 13, align: "right", cell: (k) => `${num(k.spent)}/${k.spendLimit === null ? "∞" : num(k.spendLimit)}` },
    // A rotated key's old half stands out until its overlap ends.
    { title: "EXPIRES", width: 10, cell: (k) => (k.expiresAt ? when(k.expiresAt).slice(0, 10) : "never"), color: (k) => (k.status === "expiring" ? "yellow" : k.status === "expired" ? "red" : undefined) },
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
        const user = k?.kind === "personal" ? owner(k) : (users.data?.[0]?.name ?? "");
        screen.openModal({ type: "form", form: openForm("key-create", "New API key", createKeyFields, { user: user.startsWith("#") ? "" : user, scopes: ["full"] }) });
      },
      "key-edit": (k) =>
        k && screen.openModal({ type: "form", form: openForm("key-edit", `Edit key ${describe(k)}`, editKeyFields, { ...k, expiresAt: k.expiresAt === null ? null : String(k.expiresAt) }, k.id) }),
      "key-reveal": (k) => {
        if (!k) return;
        if (!k.revealable) return ui.report({ kind: "error", text: `key ${describe(k)} is write-once: relay keeps no copy to reveal` });
        screen.openModal({ type: "confirm", id: "key-reveal", target: k.id, prompt: `Reveal key ${describe(k)}? It is shown for ${Math.round(revealMs / 1000)} s, and the reveal is written to the audit log.` });
      },
      "key-delete": (k) => k && screen.openModal({ type: "confirm", id: "key-delete", target: k.id, prompt: `Delete key ${describe(k)}? Requests with it fail from now on.` }),
      "key-toggle": (k) =>
        k && void act(`${k.enabled ? "disable" : "enable"} key #${k.id}`, () => api.keys.update(k.id, { enabled: !k.enabled }), () => {
          keys.refresh();
          return `key ${describe(k)} ${k.enabled ? "disabled" : "enabled"}`;
        }),
    },
    relabel: (k) => (k && !k.revealable ? { "key-reveal": "write-once" } : {}),
    submit: {
      "key-create": async (v) => {
        const created = await api.keys.create(v);
        keys.refresh();
        screen.openModal({ type: "secret", title: `New key #${created.id} for ${v.user}`, secret: String(created.key), note: shownOnceNote(created.revealable !== false), hideAt: null });
        return `key #${created.id} created for ${v.user}`;
      },
      "key-edit": async (v, form) => {
        const body = changedValues(form, v, keyEditCleared);
        if (Object.keys(body).length === 0) return `key #${form.target}: nothing changed`;
        await api.keys.update(form.target!, body);
        keys.refresh();
        return `key #${form.target} updated: ${Object.keys(body).join(", ")}`;
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
      details={(w, h) => k && <KeyDetails api={api} k={k} owner={owner(k)} width={w} height={h} pollMs={pollMs} />}
    />
  );
}
