import { Box, Text } from "ink";
import type { OrgsApi } from "../api";
import type { LedgerRow, MemberRow, OrgRow } from "../types";
import { usePoll } from "../hooks/use-poll";
import { Details } from "../components/details";
import { Table, type Column } from "../components/table";
import { num, stamp, when } from "../format";
import { memberCaps } from "./org-forms";

/** Ledger rows the details pane asks for; it shows as many as fit. @default 10 */
export const ORG_LEDGER_ROWS = 10;

const memberColumns: Column<MemberRow>[] = [
  { title: "MEMBER", width: "flex", cell: (m) => m.name },
  { title: "ROLE", width: 7, cell: (m) => m.role },
  { title: "SPEND/MO", width: 9, align: "right", cell: (m) => memberCaps(m).spend },
  { title: "CONC", width: 4, align: "right", cell: (m) => memberCaps(m).concurrency },
  { title: "RPM", width: 6, align: "right", cell: (m) => memberCaps(m).rpm },
  { title: "TPM", width: 7, align: "right", cell: (m) => memberCaps(m).tpm },
];

const ledgerColumns: Column<LedgerRow>[] = [
  { title: "TIME", width: 11, cell: (l) => stamp(l.at) },
  { title: "KIND", width: 6, cell: (l) => l.kind },
  { title: "AMOUNT", width: 9, align: "right", cell: (l) => (l.amount > 0 ? "+" : "") + num(l.amount), color: (l) => (l.amount < 0 ? "red" : "green") },
  { title: "BALANCE", width: 9, align: "right", cell: (l) => num(l.balanceAfter) },
  { title: "NOTE / REF", width: "flex", cell: (l) => l.note || l.ref || "-" },
];

const perMinute = (o: OrgRow) => `rpm ${o.rpm === null ? "-" : num(o.rpm)} · tpm ${o.tpm === null ? "-" : num(o.tpm)}`;
const tokens = (o: OrgRow) => `${num(o.tokensThisMonth)} this month of ${o.monthlyTokens ? num(o.monthlyTokens) : "unlimited"}`;

/**
 * One org: balance, holds, requests in flight and limits; the members with their roles and caps; and
 * its latest ledger rows (as many as the pane has room for, newest first).
 */
export function OrgDetails({ api, org: o, width, height, pollMs }: { api: Pick<OrgsApi, "orgs">; org: OrgRow; width: number; height: number; pollMs: number }) {
  const ledger = usePoll(() => api.orgs.ledger(o.name, ORG_LEDGER_ROWS).then((r) => r.data as LedgerRow[]), pollMs, [o.name]);
  const fields: [string, unknown][] = [
    ["balance", `${num(o.balance)} (${num(o.heldCredits)} held)`],
    ["in flight", `${o.inFlight} of ${o.concurrency}`],
    ["tokens", tokens(o)],
    ["per minute", perMinute(o)],
    ["models", `${o.models?.length ? o.models.join(",") : "all"} · key reveal ${o.keyReveal ?? "default"}`],
    ["keys", `${o.keys} · created ${when(o.createdAt)}`],
  ];
  // Lines: the fields and their title, two headings, the members' table (header and rows) or one line, the ledger's header.
  const fixed = fields.length + 1 + 2 + 1;
  const shownMembers = o.members.slice(0, Math.max(1, height - fixed - 1));
  const membersLines = shownMembers.length ? shownMembers.length + 1 : 1;
  const ledgerRows = Math.max(0, Math.min(ORG_LEDGER_ROWS, height - fixed - membersLines));
  const rows = ledger.data ?? [];
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Details title={`Org ${o.name}${o.suspended ? " (suspended)" : ""}`} width={width} height={fields.length + 1} fields={fields} />
      <Text bold wrap="truncate">
        Members ({o.members.length}{shownMembers.length < o.members.length ? `, ${shownMembers.length} shown` : ""})
      </Text>
      {shownMembers.length ? (
        <Table columns={memberColumns} rows={shownMembers} selected={-1} width={width} height={shownMembers.length} keyOf={(m) => m.userId} />
      ) : (
        <Text dimColor>no members yet: press a to add one</Text>
      )}
      <Text bold wrap="truncate">
        Ledger, newest first
        {ledger.error ? <Text color="red"> ✗ {ledger.error}</Text> : ledger.data ? null : <Text dimColor> loading…</Text>}
      </Text>
      {ledgerRows > 0 && rows.length > 0 ? (
        <Table columns={ledgerColumns} rows={rows.slice(0, ledgerRows)} selected={-1} width={width} height={Math.min(rows.length, ledgerRows)} keyOf={(l) => l.id} />
      ) : ledger.data && rows.length === 0 ? (
        <Text dimColor>no entries yet</Text>
      ) : null}
    </Box>
  );
}
