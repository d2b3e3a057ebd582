import type { LedgerApi, ViewProps } from "../api";
import type { LedgerRow, UserRow } from "../types";
import { usePoll } from "../hooks/use-poll";
import { useListScreen } from "../hooks/use-list-screen";
import { ListFrame, tableRows } from "../components/list-frame";
import { Details } from "../components/details";
import type { Column } from "../components/table";
import { num, stamp, text, when } from "../format";
import type { FilterField } from "../state/list";

/** Ledger rows fetched per refresh. @default 500 */
export const LEDGER_ROWS = 500;

const columns: Column<LedgerRow>[] = [
  { title: "TIME", width: 11, cell: (l) => stamp(l.at) },
  { title: "KIND", width: 10, cell: (l) => l.kind },
  { title: "AMOUNT", width: 11, align: "right", cell: (l) => (l.amount > 0 ? "+" : "") + num(l.amount), color: (l) => (l.amount < 0 ? "red" : "green") },
  { title: "BALANCE", width: 11, align: "right", cell: (l) => num(l.balanceAfter) },
  { title: "KEY", width: 5, align: "right", cell: (l) => text(l.keyId) },
  { title: "ACTOR", width: 12, cell: (l) => text(l.actor) },
  { title: "NOTE / REF", width: "flex", cell: (l) => l.note || l.ref || "-" },
];

const filterBy: FilterField<LedgerRow>[] = [
  { name: "kind", text: (l) => l.kind },
  { name: "ref", text: (l) => l.ref },
  { name: "note", text: (l) => l.note },
];

type Props = ViewProps<LedgerApi> & { user: string | null; onChooseUser: (user: string) => void };

/** One user's credit ledger (grants, holds, charges, refunds), newest first; `u` chooses the user. */
export function LedgerView({ api, active, width, height, pollMs = 1500, user, onChooseUser }: Props) {
  const poll = usePoll(() => api.credits.ledger(user!, LEDGER_ROWS).then((r) => r.data as LedgerRow[]), pollMs, [user], user !== null);
  const users = usePoll(() => api.users.list().then((r) => r.data as UserRow[]), Math.max(pollMs, 5000));
  const error = user === null ? users.error : (poll.error ?? users.error);
  const screen = useListScreen<LedgerRow>({
    rows: poll.data ?? [],
    idOf: (l) => l.id,
    filterBy,
    height: tableRows(height, error),
    active,
    scope: "ledger",
    commands: {
      "ledger-user": () =>
        screen.openModal({ type: "pick", id: "ledger-user", title: "Whose ledger?", options: (users.data ?? []).map((u) => u.name), current: user }),
    },
    pick: { "ledger-user": (name) => onChooseUser(name) },
  });
  const l = screen.selected;
  return (
    <ListFrame
      title={user ? `Ledger of ${user}` : "Ledger"}
      note={user ? "newest first · u: other user" : undefined}
      total={user === null ? 0 : poll.data?.length}
      shown={screen.filtered.length}
      list={screen.list}
      filterLabel={screen.filterLabel}
      error={error}
      columns={columns}
      window={screen.window}
      keyOf={(row) => row.id}
      modal={screen.modal}
      width={width}
      height={height}
      empty={user !== null ? "no ledger entries yet" : users.data ? "no user chosen: press u to choose one (or l on a user in the Users view)" : "loading users…"}
      details={(w, h) =>
        l && (
          <Details
            title={`Ledger entry #${l.id}`}
            width={w}
            height={h}
            fields={[["at", when(l.at)], ["kind", l.kind], ["amount", num(l.amount)], ["balance after", num(l.balanceAfter)], ["key", l.keyId], ["ref", l.ref], ["actor", l.actor], ["note", l.note]]}
          />
        )
      }
    />
  );
}
