import type { UsersApi, ViewProps } from "../api";
import type { UserRow } from "../types";
import { usePoll } from "../hooks/use-poll";
import { useAction } from "../hooks/use-action";
import { useListScreen } from "../hooks/use-list-screen";
import { fromScreen, ListFrame, tableRows } from "../components/list-frame";
import { Details } from "../components/details";
import type { Column } from "../components/table";
import { openForm, type FieldSpec } from "../state/form";
import { num, when } from "../format";
import type { FilterField } from "../state/list";

const columns: Column<UserRow>[] = [
  { title: "NAME", width: "flex", cell: (u) => u.name },
  { title: "ROLE", width: 5, cell: (u) => u.role },
  { title: "ON", width: 3, cell: (u) => (u.enabled ? "yes" : "no"), color: (u) => (u.enabled ? undefined : "red") },
  { title: "IN-FLIGHT", width: 9, align: "right", cell: (u) => `${u.inFlight}/${u.concurrency}` },
  { title: "BALANCE", width: 11, align: "right", cell: (u) => num(u.balance) },
  { title: "HELD", width: 9, align: "right", cell: (u) => num(u.heldCredits) },
  { title: "TOKENS THIS MONTH", width: 21, align: "right", cell: (u) => `${num(u.tokensThisMonth)}/${u.monthlyTokens ? num(u.monthlyTokens) : "∞"}` },
];

const filterBy: FilterField<UserRow>[] = [{ name: "name", text: (u) => u.name }];

const limitFields: FieldSpec[] = [
  { name: "concurrency", label: "Concurrency", kind: "int", help: "requests in flight at once (default 3)" },
  { name: "monthlyTokens", label: "Monthly tokens", kind: "int", help: "per UTC month, 0 = unlimited" },
];
const createFields: FieldSpec[] = [
  { name: "name", label: "Name", kind: "text", required: true, help: "letters, digits, _ . @ -" },
  ...limitFields,
  { name: "credits", label: "Initial credits", kind: "int", help: "default 0" },
];
const grantFields: FieldSpec[] = [
  { name: "amount", label: "Credits", kind: "int", required: true, help: "negative to take back" },
  { name: "note", label: "Note", kind: "text" },
];

/** Users with their live balance, holds, in-flight requests and tokens this month. */
export function UsersView({ api, active, width, height, pollMs = 1500, onShowLedger }: ViewProps<UsersApi> & { onShowLedger?: (user: string) => void }) {
  const poll = usePoll(() => api.users.list().then((r) => r.data as UserRow[]), pollMs);
  const act = useAction();
  const screen = useListScreen<UserRow>({
    rows: poll.data ?? [],
    idOf: (u) => u.id,
    filterBy,
    height: tableRows(height, poll.error),
    active,
    scope: "users",
    commands: {
      "user-create": () => screen.openModal({ type: "form", form: openForm("user-create", "New user", createFields) }),
      "user-edit": (u) => u && screen.openModal({ type: "form", form: openForm("user-edit", `Limits of ${u.name}`, limitFields, u, u.name) }),
      "user-grant": (u) => u && screen.openModal({ type: "form", form: openForm("user-grant", `Grant credits to ${u.name}`, grantFields, {}, u.name) }),
      "user-toggle": (u) =>
        u && void act(`${u.enabled ? "disable" : "enable"} ${u.name}`, () => api.users.update(u.name, { enabled: !u.enabled }), () => {
          poll.refresh();
          return `user ${u.name} ${u.enabled ? "disabled" : "enabled"}`;
        }),
      "user-ledger": (u) => u && onShowLedger?.(u.name),
    },
    submit: {
      "user-create": async (v) => {
        await api.users.create(v);
        poll.refresh();
        return `user ${v.name} created`;
      },
      "user-edit": async (v, form) => {
        await api.users.update(String(form.target), v);
        poll.refresh();
        return `user ${form.target} updated`;
      },
      "user-grant": async (v, form) => {
        await api.credits.grant(String(form.target), { amount: v.amount as number, note: v.note as string | undefined });
        poll.refresh();
        return `granted ${num(v.amount)} credits to ${form.target}`;
      },
    },
  });
  const u = screen.selected;
  return (
    <ListFrame
      title="Users"
      {...fromScreen(screen, poll)}
      columns={columns}
      width={width}
      height={height}
      empty="no users yet: press n to create one"
      details={(w, h) =>
        u && (
          <Details
            title={`User ${u.name}`}
            width={w}
            height={h}
            fields={[
              ["id", u.id], ["role", u.role], ["enabled", u.enabled], ["password set", u.hasPassword],
              ["balance", num(u.balance)], ["held credits", num(u.heldCredits)], ["in flight", `${u.inFlight} of ${u.concurrency}`],
              ["tokens this month", num(u.tokensThisMonth)], ["monthly quota", u.monthlyTokens ? num(u.monthlyTokens) : "unlimited"],
              ["created", when(u.createdAt)],
            ]}
          />
        )
      }
    />
  );
}
